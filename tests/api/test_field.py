"""The field page and its API through a real dispatch's link: the worker's steps in order (each
in the incident's timeline), photos, and every refusal: 403 for a forged, expired, revoked or
spent link (an HTML page in Chinese for the page, JSON for the API), 409 once the incident is
resolved or another worker took the dispatch, 413 and 415 for photos, 422 for bad bodies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from dispatch.dispatcher import DispatchConfig, escalate_next
from dispatch.field_links import LinkClaim, sign
from settings import Settings
from store.database import connect_async
from tests.api.dispatch_helpers import JPEG, PNG, WEBP, actions, dispatch_fire, token_for
from tests.conftest import Registry
from tests.dispatch.grid import Grid, make_grid
from tests.tokens import auth, token

Who = dict[str, str]
PHOTO_MAX = 64 * 1024


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    """Photos limited to the least allowed, and two per dispatch, to reach both limits."""
    limited = settings.model_copy(
        update={"field_photo_max_bytes": PHOTO_MAX, "field_photos_max": 2}
    )
    with TestClient(create_app(limited)) as test_client:
        yield test_client


@pytest.fixture()
def operator(database_url: str, site: str) -> Who:
    return auth(token(database_url, f"operator-{site}", "operator"))


@pytest.fixture()
def grid(database_url: str, db: psycopg.Connection[Any], site: str) -> Grid:
    return make_grid(database_url, db, site)


@pytest.fixture()
def sent(
    client: TestClient,
    operator: Who,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
) -> tuple[int, int, str]:
    """(incident, dispatch, the first worker's token)."""
    made = dispatch_fire(client, operator, registry=registry, db=db, site=site, grid=grid)
    return made.incident, made.id, token_for(db, made.id, grid.workers[0])


def _step(client: TestClient, link: str, **body: Any) -> Any:
    return client.post(f"/api/v1/field/{link}/steps", json=body)


def test_the_worker_answers_step_by_step_and_the_operator_sees_each_step(
    client: TestClient,
    operator: Who,
    db: psycopg.Connection[Any],
    grid: Grid,
    sent: tuple[int, int, str],
) -> None:
    incident, dispatch_id, link = sent
    page = client.get(f"/field/{link}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "/field/static/field.js" in page.text

    seen = client.get(f"/api/v1/field/{link}")
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["person"]["name"] == "王芳"
    assert (view["incident"]["class_label"], view["incident"]["address"]) == ("火警", "紫来街12号")
    assert view["incident"]["place"] == f"紫来街12号楼（{grid.building}）"
    assert view["dispatch"]["state"] == "notifying" and view["photo_max_bytes"] == PHOTO_MAX
    assert "误报" not in str(view["causes"]["real_fire"]) and "烹饪油烟" in str(view["causes"])
    assert "phone" not in str(view) and "operator" not in str(view)  # only what the worker needs

    accepted = _step(client, link, step="accept")
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["dispatch"]["state"], accepted.json()["repeated"]) == (
        "accepted",
        False,
    )
    again = _step(client, link, step="accept")  # from the offline queue, say
    assert (again.status_code, again.json()["repeated"]) == (200, True)
    assert _step(client, link, step="on_my_way").json()["dispatch"]["state"] == "on_my_way"
    assert (
        _step(client, link, step="arrived", note="三楼楼道").json()["dispatch"]["state"]
        == "arrived"
    )
    photo = client.post(
        f"/api/v1/field/{link}/photo", content=JPEG, headers={"Content-Type": "image/jpeg"}
    )
    assert photo.status_code == 201, photo.text
    assert photo.json()["size"] == len(JPEG)
    done = _step(
        client, link, step="verdict", verdict="false_alarm", cause="cooking_fumes", note="厨房油烟"
    )
    assert done.status_code == 200, done.text
    assert (done.json()["dispatch"]["state"], done.json()["dispatch"]["verdict"]) == (
        "done",
        "false_alarm",
    )

    worker = f"field:{grid.workers[0]}"
    assert [a for a in actions(client, operator, incident) if a[0] == worker] == [
        (worker, "accept"),
        (worker, "on_my_way"),
        (worker, "arrived"),
        (worker, "photo"),
        (worker, "verdict"),
    ]
    timeline = client.get(f"/api/v1/incidents/{incident}", headers=operator).json()["timeline"]
    verdict = next(e for e in timeline if e["action"] == "verdict")
    assert verdict["detail"] | {"dispatch": None} == {
        "dispatch": None,
        "person": grid.workers[0],
        "name": "王芳",
        "verdict": "false_alarm",
        "cause": "cooking_fumes",
        "call_119_pending": False,
        "note": "厨房油烟",
    }
    # Every dispatch time recorded, and the link's use counted.
    (d,) = client.get(f"/api/v1/incidents/{incident}/dispatches", headers=operator).json()["items"]
    assert all(
        d[k] for k in ("accepted_at", "on_my_way_at", "arrived_at", "verdict_at", "closed_at")
    )
    assert (d["notices"][0]["views"], d["notices"][0]["answers"]) == (2, 6)
    assert d["id"] == dispatch_id
    # The verdict closed the dispatch: messages still queued for it are not sent.
    assert {(q["state"], q["last_error"]) for q in d["deliveries"]} == {
        ("cancelled", "cancelled: dispatch answered")
    }

    # Spent: the link is replayed after its dispatch closed.
    for replay in (
        client.get(f"/api/v1/field/{link}"),
        _step(client, link, step="verdict", verdict="real_fire"),
        client.post(
            f"/api/v1/field/{link}/photo", content=PNG, headers={"Content-Type": "image/png"}
        ),
    ):
        assert (replay.status_code, replay.json()["reason"]) == (403, "closed")
    page = client.get(f"/field/{link}")
    assert page.status_code == 403 and "派单已结束" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_forged_expired_and_revoked_links_get_403_saying_so(
    client: TestClient, operator: Who, db: psycopg.Connection[Any], sent: tuple[int, int, str]
) -> None:
    _, dispatch_id, link = sent
    link_id, dispatch, expiry, mac = link.split(".")
    (key,) = db.execute("SELECT secret FROM field_link_key").fetchone() or (None,)
    past = LinkClaim(
        link_id=link_id, dispatch_id=dispatch_id, expires_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    expired = sign(past, secret=str(key).encode())
    tampered = f"{link_id}.{dispatch}.{int(expiry) + 3600}.{mac}"
    stranger = sign(  # our key, but no link of ours
        LinkClaim(
            link_id="x" * 22, dispatch_id=dispatch_id, expires_at=datetime(2099, 1, 1, tzinfo=UTC)
        ),
        secret=str(key).encode(),
    )
    other_key = hmac.new(
        b"k" * 32, f"{link_id}.{dispatch}.{expiry}".encode(), hashlib.sha256
    ).digest()
    forged = (
        f"{link_id}.{dispatch}.{expiry}.{base64.urlsafe_b64encode(other_key).rstrip(b'=').decode()}"
    )
    cases = {
        "forged": ("链接无效", [forged, tampered, stranger, "nonsense", "a" * 300]),
        "expired": ("链接已过期", [expired]),
    }
    for reason, (title, tokens) in cases.items():
        for bad in tokens:
            for answer in (
                client.get(f"/api/v1/field/{bad}"),
                _step(client, bad, step="accept"),
                client.post(
                    f"/api/v1/field/{bad}/photo", content=PNG, headers={"Content-Type": "image/png"}
                ),
            ):
                assert answer.status_code == 403, (reason, bad, answer.text)
                assert answer.json()["reason"] == reason
                assert answer.json()["detail"].startswith(title)
            page = client.get(f"/field/{bad}")
            assert page.status_code == 403 and title in page.text and 'lang="zh-CN"' in page.text

    revoked = client.post(f"/api/v1/dispatches/{dispatch_id}/revoke", headers=operator)
    assert revoked.status_code == 200
    assert (client.get(f"/api/v1/field/{link}").json()["reason"]) == "revoked"
    assert _step(client, link, step="accept").status_code == 403
    page = client.get(f"/field/{link}")
    assert page.status_code == 403 and "派单已撤销" in page.text
    refusals = db.execute("SELECT refusals FROM field_links WHERE id = %s", (link_id,)).fetchone()
    assert refusals == (4 + 3,)  # expired (three routes and the page), revoked (two and the page)


def test_a_forged_expiry_past_any_calendar_is_a_forgery_not_a_crash(
    client: TestClient, sent: tuple[int, int, str]
) -> None:
    """A claimed expiry no date can hold (review finding: a 500 from fromtimestamp)."""
    link_id, dispatch, _, mac = sent[2].split(".")
    for expiry in ("999999999999", "99999999999", "9" * 19):
        bad = f"{link_id}.{dispatch}.{expiry}.{mac}"
        for answer in (client.get(f"/api/v1/field/{bad}"), _step(client, bad, step="accept")):
            assert answer.status_code == 403, (expiry, answer.text)
            assert answer.json()["reason"] == "forged"
        page = client.get(f"/field/{bad}")
        assert page.status_code == 403 and "链接无效" in page.text


def test_a_verdict_on_a_resolved_incident_is_a_conflict(
    client: TestClient, operator: Who, sent: tuple[int, int, str]
) -> None:
    incident, _, link = sent
    assert _step(client, link, step="accept").status_code == 200
    resolved = client.post(
        f"/api/v1/incidents/{incident}/resolve", json={"cause": "false_alarm"}, headers=operator
    )
    assert resolved.status_code == 200, resolved.text
    late = _step(client, link, step="verdict", verdict="false_alarm", cause="steam")
    assert late.status_code == 409
    assert "已结案" in late.json()["detail"]
    photo = client.post(
        f"/api/v1/field/{link}/photo", content=PNG, headers={"Content-Type": "image/png"}
    )
    assert photo.status_code == 409
    # The page still opens, saying the incident is resolved.
    assert client.get(f"/api/v1/field/{link}").json()["incident"]["resolved"] is True


def test_the_first_to_answer_takes_the_dispatch(
    client: TestClient,
    database_url: str,
    settings: Settings,
    db: psycopg.Connection[Any],
    grid: Grid,
    sent: tuple[int, int, str],
) -> None:
    _, dispatch_id, wang = sent

    async def escalate() -> bool:
        """A minute after the notice nobody accepted: li's turn."""
        later = datetime.now(UTC) + timedelta(seconds=61)
        async with await connect_async(database_url) as conn, conn.transaction():
            config = await DispatchConfig.of(conn, settings)  # the app's key: the database's
            return await escalate_next(conn, now=later, config=config)

    assert asyncio.run(escalate())
    li = token_for(db, dispatch_id, grid.workers[1])
    assert _step(client, li, step="accept").status_code == 200
    late = _step(client, wang, step="accept")
    assert late.status_code == 409
    assert "李明" in late.json()["detail"]
    assert client.get(f"/api/v1/field/{wang}").json()["dispatch"]["taken_by"] == "李明"


def test_photos_are_checked_by_size_and_by_their_bytes(
    client: TestClient, sent: tuple[int, int, str]
) -> None:
    _, _, link = sent
    url = f"/api/v1/field/{link}/photo"
    for content_type, body in (
        ("image/gif", b"GIF89a" + bytes(20)),
        ("text/plain", PNG),
        ("", PNG),
        ("image/png", JPEG),  # the header says PNG, the bytes say JPEG
        ("image/jpeg", b"<html>not an image</html>"),
        ("image/webp", b"RIFF\x00\x00\x00\x00WAVEfmt "),
    ):
        wrong = client.post(url, content=body, headers={"Content-Type": content_type})
        assert wrong.status_code == 415, (content_type, wrong.text)

    over = PNG + bytes(PHOTO_MAX)
    big = client.post(url, content=over, headers={"Content-Type": "image/png"})
    assert big.status_code == 413
    assert "照片太大" in big.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield PNG
        for _ in range(PHOTO_MAX // 4096 + 1):
            yield bytes(4096)

    streamed = client.post(url, content=chunks(), headers={"Content-Type": "image/png"})
    assert streamed.status_code == 413
    huge = client.post(url, content=bytes(17 * 2**20), headers={"Content-Type": "image/png"})
    assert huge.status_code == 413  # past the request guard's ceiling for the route
    empty = client.post(url, content=b"", headers={"Content-Type": "image/png"})
    assert empty.status_code == 422

    for content_type, body in (("image/png", PNG), ("image/webp; q=1", WEBP)):
        ok = client.post(url, content=body, headers={"Content-Type": content_type})
        assert ok.status_code == 201, ok.text
    third = client.post(url, content=JPEG, headers={"Content-Type": "image/jpeg"})
    assert third.status_code == 409  # two photos per dispatch in this test's settings
    assert "at most 2 photos" in third.json()["detail"]


def test_bad_step_bodies_get_422(client: TestClient, sent: tuple[int, int, str]) -> None:
    _, _, link = sent
    url = f"/api/v1/field/{link}/steps"
    bodies: list[Any] = [
        {},
        {"step": "dance"},
        {"step": "verdict"},
        {"step": "accept", "verdict": "real_fire"},
        {"step": "verdict", "verdict": "false_alarm"},  # a false alarm names its cause
        {"step": "verdict", "verdict": "false_alarm", "cause": "ghosts"},
        {"step": "verdict", "verdict": "real_fire", "cause": "steam"},  # a false alarm's cause
        {"step": "accept", "cause": "other"},
        {"step": "accept", "note": "x" * 2001},
        {"step": "accept", "note": "nul\x00"},
        {"step": "accept", "extra": True},
        [],
    ]
    for body in bodies:
        bad = client.post(url, json=body)
        assert bad.status_code == 422, (body, bad.text)
    assert (
        client.post(url, content=b"{", headers={"Content-Type": "application/json"}).status_code
        == 422
    )
    assert client.get(f"/api/v1/field/{link}").json()["dispatch"]["state"] == "notifying"
