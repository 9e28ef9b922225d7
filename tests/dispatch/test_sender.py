"""The sender against the real PostgreSQL and local servers playing each vendor
(tests/dispatch/vendors.py checks every request's format, signature and timestamp): each kind
delivered once, retries with backoff on 5xx, timeouts and refused connections, robots' error
codes inside a 200 treated as failures, permanent failures recorded with the last error, and
two senders sharing a queue without sending anything twice."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from dispatch.sender import Sender, message_of, retry_delay
from firewatch.testing import own_database, wait_until
from settings import Settings
from store.deliveries import NewDelivery, deliveries_of, enqueue
from tests.dispatch.vendors import DINGTALK_SECRET, FEISHU_SECRET, Vendors, serving_vendors

BACKOFF_S = 0.2
TIMEOUT_S = 0.5
MAX_ATTEMPTS = 3
MESSAGE = {
    "title": "火警 3号楼",
    "text": "类别 火警\n地址 紫莱街道3号",
    "link": "https://fw.example/f/abc",
    "mention_phones": ["13800001111"],
}


@pytest.fixture(scope="module")
def queue_url() -> Iterator[str]:
    """A database of the module's own: a sender takes every due row it finds."""
    with own_database("fw_sender") as url:
        yield url


@pytest.fixture()
def vendors() -> Iterator[Vendors]:
    with serving_vendors() as served:
        yield served


@pytest.fixture()
def sender_settings(queue_url: str) -> Settings:
    return Settings(
        database_url=queue_url,
        dispatcher_workers=3,
        dispatcher_poll_s=0.05,
        dispatcher_timeout_s=TIMEOUT_S,
        dispatcher_backoff_s=BACKOFF_S,
        dispatcher_backoff_max_s=1.0,
        dispatcher_max_attempts=MAX_ATTEMPTS,
    )


@contextmanager
def running(settings: Settings, *, count: int = 1) -> Iterator[None]:
    """``count`` senders, each with its own workers, as separate processes would be."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=Sender(settings).run, args=(stop,), name=f"sender-{n}", daemon=True)
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
            assert not thread.is_alive(), "the sender did not stop"


@pytest.fixture()
def sender(sender_settings: Settings) -> Iterator[None]:
    with running(sender_settings):
        yield


def _channels(vendors: Vendors) -> dict[str, dict[str, Any]]:
    base = vendors.url
    return {
        "wecom": {"url": f"{base}/wecom?key=k1"},
        "dingtalk": {"url": f"{base}/dingtalk?access_token=t1", "secret": DINGTALK_SECRET},
        "feishu": {"url": f"{base}/feishu", "secret": FEISHU_SECRET},
        "webhook": {"url": f"{base}/webhook"},
        "sms": {"url": f"{base}/sms", "body": {"mobile": "{phone}", "content": "{content}"}},
    }


def _queue(url: str, dispatch_id: int, rows: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """(key suffix, kind, config) rows queued for ``dispatch_id``; returns their keys."""
    tag = uuid.uuid4().hex[:8]
    items = [
        NewDelivery(
            key=f"{tag}-{suffix}",
            dispatch_id=dispatch_id,
            person_id="p1",
            step="notify:0",
            channel_id=f"ch-{kind}",
            channel_kind=kind,
            channel_config=config,
            message=MESSAGE,
        )
        for suffix, kind, config in rows
    ]

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await enqueue(conn, items=items)
            await conn.commit()

    asyncio.run(run())
    return [item.key for item in items]


def _deliveries(url: str, dispatch_id: int) -> dict[str, dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await deliveries_of(conn, dispatch_id=dispatch_id)

    return {row["key"]: row for row in asyncio.run(run())}


def _settled(url: str, dispatch_id: int, *, timeout: float = 15) -> dict[str, dict[str, Any]]:
    def done() -> bool:
        rows = _deliveries(url, dispatch_id)
        return bool(rows) and all(r["state"] != "pending" for r in rows.values())

    wait_until(done, timeout=timeout, what="every delivery sent or failed")
    return _deliveries(url, dispatch_id)


def _dispatch_id() -> int:
    return uuid.uuid4().int % 2**62


@pytest.mark.usefixtures("sender")
def test_each_vendor_gets_one_request_in_its_format(queue_url: str, vendors: Vendors) -> None:
    dispatch_id = _dispatch_id()
    keys = _queue(queue_url, dispatch_id, [(k, k, c) for k, c in _channels(vendors).items()])
    rows = _settled(queue_url, dispatch_id)
    assert {k: (r["state"], r["attempts"], r["last_error"]) for k, r in rows.items()} == {
        k: ("sent", 1, None) for k in keys
    }
    assert all(r["sent_at"] is not None for r in rows.values())
    assert [(r.path, r.problems) for r in vendors.received if r.problems] == []
    assert vendors.keys() == {k: 1 for k in keys}
    assert {r.path for r in vendors.received} == {
        "/wecom",
        "/dingtalk",
        "/feishu",
        "/webhook",
        "/sms",
    }
    (dingtalk,) = vendors.of("/dingtalk")
    assert dingtalk.body["at"]["atMobiles"] == ["13800001111"]
    assert _configs(queue_url, dispatch_id) == [{}] * len(keys)  # the secrets went with them


def _configs(url: str, dispatch_id: int) -> list[dict[str, Any]]:
    """The channel configurations the queue still holds for the dispatch."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT channel_config FROM deliveries WHERE dispatch_id = %s ORDER BY id",
            (dispatch_id,),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.usefixtures("sender")
def test_server_errors_are_retried_with_doubling_backoff(queue_url: str, vendors: Vendors) -> None:
    vendors.script("/webhook", (503, b"busy"), (502, b"bad gateway"))
    dispatch_id = _dispatch_id()
    (key,) = _queue(queue_url, dispatch_id, [("a", "webhook", _channels(vendors)["webhook"])])
    row = _settled(queue_url, dispatch_id)[key]
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    times = [r.at for r in vendors.of("/webhook")]
    assert len(times) == 3
    # BACKOFF_S, then twice that; the poll interval and the test's clock add a little.
    assert times[1] - times[0] >= BACKOFF_S * 0.9
    assert times[2] - times[1] >= 2 * BACKOFF_S * 0.9


@pytest.mark.usefixtures("sender")
def test_a_timeout_is_retried_and_the_receiver_may_see_the_key_twice(
    queue_url: str, vendors: Vendors
) -> None:
    vendors.script("/feishu", TIMEOUT_S * 3)
    dispatch_id = _dispatch_id()
    (key,) = _queue(queue_url, dispatch_id, [("a", "feishu", _channels(vendors)["feishu"])])
    row = _settled(queue_url, dispatch_id)[key]
    assert (row["state"], row["attempts"]) == ("sent", 2)
    wait_until(lambda: vendors.keys()[key] == 2, timeout=5, what="the slow request recorded")
    assert all(not r.problems for r in vendors.of("/feishu"))  # re-signed at the retry


@pytest.mark.usefixtures("sender")
def test_refused_connections_fail_for_good_after_the_last_attempt(queue_url: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        dispatch_id = _dispatch_id()
        (key,) = _queue(
            queue_url, dispatch_id, [("a", "webhook", {"url": f"http://127.0.0.1:{port}/x"})]
        )
        row = _settled(queue_url, dispatch_id)[key]
    assert (row["state"], row["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert "refused" in row["last_error"].lower()


@pytest.mark.usefixtures("sender")
def test_robots_errors_inside_a_200_are_failures(queue_url: str, vendors: Vendors) -> None:
    throttled = b'{"errcode": 45009, "errmsg": "api freq out of limit"}'
    vendors.script("/wecom", (200, throttled), (200, throttled))
    channels = _channels(vendors)
    wrong_secret = {**channels["dingtalk"], "secret": "SEC-not-the-robots"}
    dispatch_id = _dispatch_id()
    wecom, dingtalk = _queue(
        queue_url, dispatch_id, [("w", "wecom", channels["wecom"]), ("d", "dingtalk", wrong_secret)]
    )
    rows = _settled(queue_url, dispatch_id)
    assert (rows[wecom]["state"], rows[wecom]["attempts"]) == ("sent", 3)
    assert rows[dingtalk]["state"] == "failed"
    assert rows[dingtalk]["attempts"] == MAX_ATTEMPTS
    assert rows[dingtalk]["last_error"] == "errcode 310000: sign does not match"
    assert len(vendors.of("/dingtalk")) == MAX_ATTEMPTS


@pytest.mark.usefixtures("sender")
def test_what_no_retry_can_help_fails_at_once(queue_url: str, vendors: Vendors) -> None:
    dispatch_id = _dispatch_id()
    missing, bad_config, no_phone = _queue(
        queue_url,
        dispatch_id,
        [
            ("404", "webhook", {"url": f"{vendors.url}/nowhere"}),
            ("config", "dingtalk", {"url": "ftp://robot"}),
            ("sms", "sms", {"url": f"{vendors.url}/sms"}),  # a POST without its body template
        ],
    )
    rows = _settled(queue_url, dispatch_id)
    assert {k: (r["state"], r["attempts"]) for k, r in rows.items()} == {
        k: ("failed", 1) for k in (missing, bad_config, no_phone)
    }
    assert rows[missing]["last_error"] == "HTTP 404: not found"
    assert _configs(queue_url, dispatch_id) == [{}] * 3
    assert rows[bad_config]["last_error"].startswith("not sent: url: ")
    assert rows[no_phone]["last_error"].startswith("not sent: body: ")


@pytest.mark.usefixtures("sender")
def test_what_the_network_cannot_carry_is_a_failed_attempt_with_its_error(
    queue_url: str, vendors: Vendors
) -> None:
    """Rows queued before their channel was checked as it is now, and anything a request
    raises: each a failed attempt with its error, never a row left pending forever (review
    finding: a UnicodeEncodeError out of urllib, the row retried every 2 s with 0 attempts)."""
    dispatch_id = _dispatch_id()
    sms = {"url": f"{vendors.url}/sms?to={{phone}}&u={{link}}", "method": "GET"}
    url, header, odd = _queue(
        queue_url,
        dispatch_id,
        [
            ("url", "webhook", {"url": f"{vendors.url}/webhook/告警"}),
            ("header", "webhook", {"url": f"{vendors.url}/webhook", "headers": {"X-T": "令牌"}}),
            ("odd", "sms", sms),
        ],
    )
    with psycopg.connect(queue_url, autocommit=True) as conn:  # a message no dispatcher wrote
        conn.execute(
            "UPDATE deliveries SET message = message || '{\"link\": 5}' WHERE key = %s", (odd,)
        )
    rows = _settled(queue_url, dispatch_id)
    assert (rows[url]["state"], rows[url]["attempts"]) == ("failed", 1)
    assert rows[url]["last_error"].startswith("not sent: url: ")
    assert (rows[header]["state"], rows[header]["attempts"]) == ("failed", 1)
    assert rows[header]["last_error"].startswith("not sent: headers: ")
    assert (rows[odd]["state"], rows[odd]["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert "TypeError" in rows[odd]["last_error"]
    assert vendors.received == []


@pytest.mark.usefixtures("sender")
def test_a_closed_dispatchs_deliveries_are_cancelled_not_sent(
    queue_url: str, vendors: Vendors
) -> None:
    """Rows a sender held (or that were due again) when their dispatch was revoked or
    answered: cancelled as they are taken (review finding: sent all the same)."""
    with psycopg.connect(queue_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO incidents (building, class, state, opened_at, last_at)"
            " VALUES ('B-1', 'fire', 'active_unack', now(), now()) RETURNING id"
        ).fetchone()
        assert row is not None
        closed = conn.execute(
            "INSERT INTO dispatches (incident_id, automatic, created_by, created_at, state,"
            " revoked_at, closed_at) VALUES (%s, false, 'op', now(), 'revoked', now(), now())"
            " RETURNING id",
            (row[0],),
        ).fetchone()
        assert closed is not None
    channels = _channels(vendors)
    keys = _queue(queue_url, closed[0], [(k, k, channels[k]) for k in ("webhook", "wecom")])
    rows = _settled(queue_url, closed[0])
    assert {k: (r["state"], r["attempts"]) for k, r in rows.items()} == {
        k: ("cancelled", 0) for k in keys
    }
    assert all(r["cancelled_at"] and r["sent_at"] is None for r in rows.values())
    assert _configs(queue_url, closed[0]) == [{}, {}]
    assert vendors.received == []


def test_two_senders_share_the_queue_without_sending_twice(
    queue_url: str, vendors: Vendors, sender_settings: Settings
) -> None:
    dispatch_id = _dispatch_id()
    webhook = _channels(vendors)["webhook"]
    keys = _queue(queue_url, dispatch_id, [(str(n), "webhook", webhook) for n in range(300)])
    settings = sender_settings.model_copy(update={"dispatcher_workers": 4})
    with running(settings, count=2):
        rows = _settled(queue_url, dispatch_id, timeout=60)
    assert all(r["state"] == "sent" and r["attempts"] == 1 for r in rows.values())
    assert vendors.keys() == {k: 1 for k in keys}


def test_retry_delay_doubles_up_to_its_cap_then_gives_up() -> None:
    delays = [retry_delay(n, base_s=2, max_s=20, max_attempts=6) for n in range(1, 7)]
    assert delays == [2, 4, 8, 16, 20, None]


def test_a_stored_message_must_have_its_fields() -> None:
    assert message_of(MESSAGE).mention_phones == ("13800001111",)
    with pytest.raises(ValueError, match="title"):
        message_of({"text": "x"})
    with pytest.raises(ValueError, match="strings"):
        message_of({"title": 1, "text": "x"})
