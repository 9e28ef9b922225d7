"""Photos from the field over real HTTP, sent as a slow phone sends them: a body that trickles
in or stalls holds no database connection (more stalled uploads than the pool has connections
leave every other route answering), is cut off after FIREWATCH_FIELD_PHOTO_READ_S with a 408,
and a link that is revoked, or an incident that is resolved, is refused before any of the body
is read (review finding: the pool held for the whole upload, a revoked link's body read)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import orjson
import psycopg
import pytest

from api.app import create_app
from firewatch.testing import serving
from settings import Settings
from tests.api.dispatch_helpers import PNG, token_for
from tests.conftest import Registry
from tests.dispatch.grid import Grid, fire, make_grid
from tests.tokens import auth, token

READ_S = 2.0
POOL = 10  # api/app.py's pool
PHOTO = PNG + bytes(20_000)


@pytest.fixture()
def served(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings.model_copy(update={"field_photo_read_s": READ_S}))) as base:
        yield base


@pytest.fixture()
def dispatched(
    served: str,
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
) -> tuple[dict[str, str], int, int, str]:
    """(the operator's headers, incident, dispatch, the first worker's token)."""
    grid: Grid = make_grid(database_url, db, site)
    operator = auth(token(database_url, f"operator-{site}", "operator"))
    incident = fire(registry, db, site, grid.building)
    made = httpx2.post(f"{served}/api/v1/incidents/{incident}/dispatch", json={}, headers=operator)
    assert made.status_code == 201, made.text
    dispatch_id = int(made.json()["id"])
    return operator, incident, dispatch_id, token_for(db, dispatch_id, grid.workers[0])


def _start_upload(base: str, link: str, *, sent: bytes) -> socket.socket:
    """A photo upload whose headers promise all of PHOTO and whose body is ``sent`` so far."""
    port = int(base.rsplit(":", 1)[1])
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /api/v1/field/{link}/photo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: image/png\r\nContent-Length: {len(PHOTO)}\r\n\r\n"
    )
    conn.sendall(head.encode() + sent)
    return conn


def _reply(conn: socket.socket, *, timeout: float) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the server's answer, read within ``timeout``."""
    conn.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "closed mid-answer"
        body += chunk
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


def test_stalled_uploads_hold_no_connection_and_time_out(
    served: str, db: psycopg.Connection[Any], dispatched: tuple[dict[str, str], int, int, str]
) -> None:
    operator, incident, dispatch_id, link = dispatched
    stalled = [_start_upload(served, link, sent=PNG) for _ in range(POOL + 2)]
    try:
        # Every other route still has the pool: the worker's own, an operator's.
        seen = httpx2.get(f"{served}/api/v1/field/{link}", timeout=5)
        assert seen.status_code == 200, seen.text
        listed = httpx2.get(f"{served}/api/v1/incidents/{incident}", headers=operator, timeout=5)
        assert listed.status_code == 200
        # A whole photo still goes through beside them.
        whole = httpx2.post(
            f"{served}/api/v1/field/{link}/photo",
            content=PHOTO,
            headers={"Content-Type": "image/png"},
            timeout=5,
        )
        assert whole.status_code == 201, whole.text
        for conn in stalled:
            code, body = _reply(conn, timeout=READ_S + 5)
            assert code == 408, body
            assert "did not arrive within 2 s" in body["detail"]
    finally:
        for conn in stalled:
            conn.close()
    stored = db.execute(
        "SELECT count(*) FROM field_photos WHERE dispatch_id = %s", (dispatch_id,)
    ).fetchone()
    assert stored == (1,)


def test_a_revoked_link_or_a_resolved_incident_is_refused_before_the_body(
    served: str, database_url: str, db: psycopg.Connection[Any], registry: Registry, site: str
) -> None:
    """The refusal comes while the phone has sent nothing of its photo yet."""
    grid = make_grid(database_url, db, site)
    operator = auth(token(database_url, f"operator-{site}", "operator"))
    incident = fire(registry, db, site, grid.building)
    links = []
    for then in ("revoke", "resolve"):
        made = httpx2.post(
            f"{served}/api/v1/incidents/{incident}/dispatch", json={}, headers=operator
        )
        assert made.status_code == 201, made.text
        links.append(token_for(db, int(made.json()["id"]), grid.workers[0]))
        done = (
            httpx2.post(f"{served}/api/v1/dispatches/{made.json()['id']}/revoke", headers=operator)
            if then == "revoke"
            else httpx2.post(
                f"{served}/api/v1/incidents/{incident}/resolve",
                json={"cause": "false_alarm"},
                headers=operator,
            )
        )
        assert done.status_code == 200, done.text
    revoked, resolved = links
    conn = _start_upload(served, revoked, sent=b"")
    try:
        code, body = _reply(conn, timeout=READ_S / 2)
    finally:
        conn.close()
    assert (code, body["reason"]) == (403, "revoked")
    conn = _start_upload(served, resolved, sent=b"")
    try:
        code, body = _reply(conn, timeout=READ_S / 2)
    finally:
        conn.close()
    assert code == 409 and "已结案" in body["detail"]
    link_id = revoked.split(".", 1)[0]
    counts = db.execute(
        "SELECT answers, refusals FROM field_links WHERE id = %s", (link_id,)
    ).fetchone()
    assert counts == (0, 1)


def test_an_upload_cut_off_by_a_phone_that_leaves_is_no_error_of_ours(
    capfd: pytest.CaptureFixture[str],  # first: the server's log goes where it was at its start
    served: str,
    db: psycopg.Connection[Any],
    dispatched: tuple[dict[str, str], int, int, str],
) -> None:
    """A phone that loses its link mid-photo: ClientDisconnect was raised out of the route,
    logged as an exception in the application; nothing is stored and the link still works."""
    _operator, _incident, dispatch_id, link = dispatched
    capfd.readouterr()
    conn = _start_upload(served, link, sent=PNG)
    conn.shutdown(socket.SHUT_WR)
    try:
        while conn.recv(65536):
            pass
    finally:
        conn.close()
    time.sleep(0.5)  # the server logs after it has closed the connection
    seen = httpx2.get(f"{served}/api/v1/field/{link}", timeout=5)
    assert seen.status_code == 200, seen.text
    logged = capfd.readouterr().err
    assert "Exception in ASGI application" not in logged, logged[-2000:]
    stored = db.execute(
        "SELECT count(*) FROM field_photos WHERE dispatch_id = %s", (dispatch_id,)
    ).fetchone()
    assert stored == (0,)
