"""The progress line: a bar redrawn in place on a terminal, plain lines in a log."""

from __future__ import annotations

import io
import time

from simulators.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_plain_lines_with_the_rate() -> None:
    log = io.StringIO()
    progress = Progress("replay fire.jsonl", total=1000, stream=log, every_s=0.01)
    time.sleep(0.02)
    progress.update(500)
    progress.close()
    line = log.getvalue()
    assert line.startswith("replay fire.jsonl: 500/1,000 messages (50%), ")
    assert line.endswith(" msg/s\n") and "\r" not in line


def test_a_terminal_gets_a_bar_redrawn_in_place() -> None:
    tty = Terminal()
    progress = Progress("replay", total=100, stream=tty, every_s=0.01)
    for done in (25, 100):
        time.sleep(0.02)
        progress.update(done)
    progress.close()
    text = tty.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "[######..................] 25/100" in text and "[########################]" in text


def test_nothing_is_written_between_updates_that_are_not_due() -> None:
    log = io.StringIO()
    progress = Progress("record", stream=log, every_s=60)
    for done in range(1000):
        progress.update(done)
    progress.close()
    assert log.getvalue() == ""
