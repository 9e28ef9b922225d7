"""The live alert stream over a real socket: live events, replay after a reconnect, and an
event whose transaction commits late is delivered, not skipped."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import orjson
import psycopg
import pytest

from api.alert_stream import RECHECK_S
from api.app import create_app
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from firewatch.testing import serving
from settings import Settings
from tests.api.alert_helpers import raise_alert
from tests.conftest import Registry
from tests.tokens import auth, token

Event = dict[str, Any]


@pytest.fixture()
def base_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


class Listener:
    """Reads the stream in a thread, keeping this site's events of ``kinds`` (the SSE event
    name, ``kind`` in each event kept); stops at ``close``."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        site: str,
        kinds: tuple[str, ...] = ("alert",),
    ) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.heard = threading.Event()  # the first frame (retry) arrived: attached
        self._site, self._kinds, self._stop = site, kinds, threading.Event()
        self.foreign = 0  # events of other sites: the stream should send none
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        assert self.heard.wait(10), "the stream did not answer"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except httpx2.TransportError:
            if not self._stop.is_set():
                raise  # the server going away after close() is expected

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx2.stream("GET", url, headers=headers, timeout=30) as response:
            assert response.status_code == 200, response.read()
            frame: dict[str, str] = {}
            for line in response.iter_lines():
                self.heard.set()
                if self._stop.is_set():
                    return
                if line:
                    key, _, value = line.partition(": ")
                    frame[key] = value
                    continue
                kind = frame.get("event", "")
                if kind in self._kinds:
                    data = orjson.loads(frame["data"])
                    if data[kind]["site"] == self._site:
                        self.events.put({"id": frame["id"], "kind": kind, **data})
                    else:
                        self.foreign += 1
                frame = {}

    def take(self, count: int) -> list[Event]:
        return [self.events.get(timeout=10) for _ in range(count)]

    def close(self) -> None:
        self._stop.set()


def test_stream_delivers_live_and_replays_what_a_reconnect_missed(
    base_url: str,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    operator = auth(token(database_url, f"op-{site}", "operator"))
    device = registry.add(f"{site}-SD1", Kind.SMOKE)
    url = f"{base_url}/api/v1/alerts/stream"

    first = Listener(url, viewer, site)
    alert = raise_alert(db, device, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site)
    (raised,) = first.take(1)
    assert (raised["change"], raised["alert"]["id"], raised["alert"]["class"]) == (
        "raise",
        alert,
        "fire",
    )
    assert raised["event_id"] == raised["id"]
    other_site = registry.add(f"{site}-X", Kind.SMOKE, site=f"{site}x")
    raise_alert(db, other_site, Rule.SMOKE_ALARM, AlertClass.FIRE, site=f"{site}x")
    first.close()

    # While nobody listens: an acknowledgement, a comment and a second alert.
    assert httpx2.post(f"{base_url}/api/v1/alerts/{alert}/ack", headers=operator).status_code == 200
    httpx2.post(
        f"{base_url}/api/v1/alerts/{alert}/comment", headers=operator, json={"text": "crew sent"}
    )
    tested = registry.add(f"{site}-SD9", Kind.SMOKE)  # in a walk test: never dispatched
    raise_alert(db, tested, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, suppressed="test")
    other = raise_alert(db, device, Rule.HEAT_FIXED, AlertClass.FIRE, site=site)

    again = Listener(url, {**viewer, "Last-Event-ID": raised["id"]}, site)
    missed = again.take(3)
    assert [(e["change"], e["alert"]["id"]) for e in missed] == [
        ("ack", alert),
        ("comment", alert),
        ("raise", other),
    ]
    assert missed[0]["actor"] == f"op-{site}" and missed[0]["to_state"] == "active_ack"
    # ... and it goes on live after the replay.
    httpx2.post(f"{base_url}/api/v1/alerts/{other}/ack", headers=operator)
    assert [(e["change"], e["alert"]["id"]) for e in again.take(1)] == [("ack", other)]
    assert first.foreign == again.foreign == 0  # another site's alarm is not this screen's
    again.close()


def test_log_writers_commit_in_id_order(
    base_url: str,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    """A writer that holds its transaction open makes the next writer of the log wait, so ids
    are handed out in commit order and a client resuming after an id never skips one."""
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    device = registry.add(f"{site}-SD2", Kind.SMOKE)
    listener = Listener(f"{base_url}/api/v1/alerts/stream", viewer, site)
    second: list[int] = []
    with psycopg.connect(database_url) as slow:
        slow.execute("SELECT 1")  # a transaction of its own, which raise_alert only nests in
        first = raise_alert(slow, device, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site)
        writer = threading.Thread(
            target=lambda: second.append(
                raise_alert(db, device, Rule.HEAT_FIXED, AlertClass.FIRE, site=site)
            )
        )
        writer.start()
        writer.join(timeout=1.5)
        assert writer.is_alive(), "the second writer did not wait for the first to commit"
        with pytest.raises(queue.Empty):
            listener.events.get(timeout=0.5)
        slow.commit()
    writer.join(timeout=10)
    got = listener.take(2)
    assert [e["alert"]["id"] for e in got] == [first, second[0]]
    assert int(got[0]["id"]) < int(got[1]["id"])
    listener.close()


def test_an_unrelated_long_transaction_does_not_hold_the_stream_back(
    base_url: str,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    """A bulk load or an import running for minutes must not freeze the operators' screen."""
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    device = registry.add(f"{site}-SD3", Kind.SMOKE)
    listener = Listener(f"{base_url}/api/v1/alerts/stream", viewer, site)
    with psycopg.connect(database_url) as busy:
        busy.execute("UPDATE devices SET name = 'being imported' WHERE id = %s", (device,))
        alert = raise_alert(db, device, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site)
        (event,) = listener.take(1)
        busy.rollback()
    assert event["alert"]["id"] == alert
    listener.close()


def test_stream_refuses_bad_requests(base_url: str, database_url: str, site: str) -> None:
    url = f"{base_url}/api/v1/alerts/stream"
    assert httpx2.get(url).status_code == 401
    viewer = token(database_url, f"viewer-{site}", "viewer")
    bad = httpx2.get(url, headers={**auth(viewer), "Last-Event-ID": "yesterday"})
    assert bad.status_code == 400
    assert "not an event id" in bad.json()["detail"]
    assert httpx2.get(url, headers={**auth(viewer), "Last-Event-ID": "12-34"}).status_code == 400
    # EventSource cannot send headers: the token may come in the query instead.
    with httpx2.stream("GET", url, params={"access_token": viewer}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert next(response.iter_lines()) == "retry: 2000"


def _read_until_closed(url: str, bearer: str, ended: threading.Event) -> None:
    """Sets ``ended`` when the server ends the stream cleanly, not when it is cut at shutdown."""
    with httpx2.stream("GET", url, params={"access_token": bearer}, timeout=30) as response:
        assert response.status_code == 200
        try:
            for _ in response.iter_lines():
                pass
        except httpx2.TransportError:
            return
    ended.set()


@pytest.mark.parametrize("ending", ["disable", "rotate-token"])
def test_a_stream_ends_with_its_session(
    base_url: str, database_url: str, site: str, ending: str
) -> None:
    """Disabling the user or rotating its token ends its open stream within a few seconds,
    while another user's stream stays open."""
    admin = auth(token(database_url, f"admin-{site}", "admin"))
    name, other = f"op-{site}", f"op2-{site}"
    ended, kept = threading.Event(), threading.Event()
    url = f"{base_url}/api/v1/alerts/stream"
    for who, flag in ((name, ended), (other, kept)):
        bearer = token(database_url, who, "operator")
        threading.Thread(target=_read_until_closed, args=(url, bearer, flag), daemon=True).start()
    time.sleep(RECHECK_S + 0.5)  # both were checked again at least once, and are still open
    assert not ended.is_set() and not kept.is_set()
    started = time.monotonic()
    assert httpx2.post(f"{base_url}/api/v1/users/{name}/{ending}", headers=admin).is_success
    assert ended.wait(5), f"the stream outlived its session ({ending}) by 5 s"
    took = time.monotonic() - started
    assert not kept.is_set(), "another user's stream ended too"
    print(f"stream ended {took:.1f} s after {ending}")
