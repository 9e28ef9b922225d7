"""firewatch/logs.py: JSON lines off a terminal, carrying the ids as fields; text on one."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import httpx2
import pytest
import uvicorn
from pydantic import ValidationError

from firewatch.logs import configure_logging, redact
from firewatch.testing import free_port, wait_until
from settings import Settings

IDS = {"batch": 17, "device": "SD-00042", "alert": 9001}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


@pytest.mark.parametrize("log_format", ["auto", "json"])
def test_json_line_parses_and_carries_the_ids(log_format: str) -> None:
    stream = io.StringIO()  # not a terminal
    configure_logging("auto" if log_format == "auto" else "json", stream=stream)
    logging.getLogger("ingest.service").info("alert %d raised", 9001, extra=IDS)
    [line] = _lines(stream)
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "ingest.service"
    assert entry["msg"] == "alert 9001 raised"
    assert entry["ts"].endswith("+00:00")
    assert {k: entry[k] for k in IDS} == IDS


def test_json_line_keeps_the_traceback_and_odd_values() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        raise ValueError("bad\nrow")
    except ValueError:
        logging.getLogger("x").exception("refused", extra={"device": object()})
    [line] = _lines(stream)  # the traceback's newlines stay inside the JSON string
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert "ValueError: bad" in entry["exc"]
    assert entry["device"].startswith("<object")


def test_text_on_a_terminal_with_the_ids_appended() -> None:
    stream = Terminal()
    configure_logging("auto", stream=stream)
    logging.getLogger("ingest.service").warning("database unavailable", extra=IDS)
    logging.getLogger("ingest.service").info("no ids here")
    first, second = _lines(stream)
    assert " WARNING ingest.service: database unavailable [" in first
    assert first.endswith("[batch=17 device=SD-00042 alert=9001]")
    assert second.endswith("INFO ingest.service: no ids here")


def test_text_forced_off_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    logging.getLogger("api").info("hello")
    [line] = _lines(stream)
    assert line.endswith("INFO api: hello")


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREWATCH_LOG_FORMAT", raising=False)
    assert Settings().log_format == "auto"
    monkeypatch.setenv("FIREWATCH_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    monkeypatch.setenv("FIREWATCH_LOG_FORMAT", "yaml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()


def test_redact_hides_every_token_form() -> None:
    line = 'GET /api/v1/alerts/stream?site=z&access_token=fw_abc-DEF_1&x=1 "Bearer fw_zz" end'
    assert redact(line) == (
        'GET /api/v1/alerts/stream?site=z&access_token=[REDACTED]&x=1 "Bearer [REDACTED]" end'
    )
    assert redact("Authorization: Bearer fw_q") == "Authorization: Bearer [REDACTED]"
    assert redact("no secrets here") == "no secrets here"
    # A percent-encoded name is the same parameter to the server (review finding).
    for name in ("acc%65ss_token", "access%5Ftoken", "ACCESS_TOKEN"):
        assert redact(f"GET /s?{name}=SECRET&x=1") == f"GET /s?{name}=[REDACTED]&x=1"
    assert redact("GET /s?site=z&n=2") == "GET /s?site=z&n=2"


def test_uvicorn_access_log_never_shows_the_stream_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real server with uvicorn's own logging config, as `firewatch api` runs it."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    configure_logging("text", stream=io.StringIO())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, what="uvicorn")
    try:
        secret = "fw_" + "s3cret" * 5
        url = f"http://127.0.0.1:{port}/api/v1/alerts/stream?access_token={secret}"
        assert httpx2.get(url).status_code == 204
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    logged = capsys.readouterr()
    access = [line for line in logged.out.splitlines() if "/api/v1/alerts/stream" in line]
    assert access and "access_token=[REDACTED]" in access[0]
    assert secret not in logged.out + logged.err


def test_field_link_tokens_never_reach_the_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    """A field link's token is its path (review finding): the field page and its API as a real
    server logs them; the page's static files keep their paths."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    configure_logging("text", stream=io.StringIO())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, what="uvicorn")
    token = "Ab3_x-" * 4 + ".42.1900000000." + "S1g" * 14 + "x"
    base = f"http://127.0.0.1:{port}"
    try:
        for path in (
            f"/field/{token}",
            f"/api/v1/field/{token}",
            f"/api/v1/field/{token}/steps",
            f"/api/v1/field/{token}/photo?x=1",
            "/field/static/field.js",
            "/field/sw.js",
        ):
            assert httpx2.get(base + path).status_code == 204
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    logged = capsys.readouterr()
    assert token not in logged.out + logged.err
    access = [line for line in logged.out.splitlines() if "/field/" in line]
    assert sum("/field/[REDACTED]" in line for line in access) == 4
    assert any("/api/v1/field/[REDACTED]/steps" in line for line in access)
    assert any("/field/static/field.js" in line for line in access)
    assert any("/field/sw.js" in line for line in access)


def test_redact_hides_a_field_token_in_any_text() -> None:
    assert redact("GET /field/abc.1.2.sig HTTP/1.1") == "GET /field/[REDACTED] HTTP/1.1"
    assert redact("/api/v1/field/abc.1.2.sig/photo") == "/api/v1/field/[REDACTED]/photo"
    assert redact("/field/static/style.css /field/sw.js") == "/field/static/style.css /field/sw.js"
