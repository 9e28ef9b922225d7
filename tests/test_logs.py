"""firewatch/logs.py: JSON lines off a terminal, carrying the ids as fields; text on one."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import ValidationError

from firewatch.logs import configure_logging
from firewatch.settings import Settings

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
