"""A progress line on stderr: a bar redrawn in place on a terminal, plain lines in a log."""

from __future__ import annotations

import sys
import time
from typing import TextIO

EVERY_S = 2.0
_BAR = 24


class Progress:
    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        stream: TextIO | None = None,
        every_s: float = EVERY_S,
    ) -> None:
        self.label, self.total = label, total
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._every = every_s
        self._started = time.monotonic()
        self._next = self._started + every_s
        self._drawn = False

    def restart(self) -> None:
        """Rates count from here: after a slow start-up, e.g. spawning workers."""
        self._started = time.monotonic()
        self._next = self._started + self._every

    def _line(self, done: int) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{done / elapsed:,.0f} msg/s"
        if self.total:
            share = min(1.0, done / self.total)
            text = f"{done:,}/{self.total:,} messages ({share:.0%}), {rate}"
            if self._tty:
                filled = round(share * _BAR)
                text = f"[{'#' * filled}{'.' * (_BAR - filled)}] {text}"
        else:
            text = f"{done:,} messages in {elapsed:.0f} s, {rate}"
        return f"{self.label}: {text}"

    def update(self, done: int) -> None:
        """Cheap when not due: called for every message."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._every
        self._write(self._line(done))

    def close(self) -> None:
        """Ends a bar drawn in place; the caller prints the exact summary on stdout."""
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()

    def _write(self, line: str) -> None:
        self._drawn = True
        self._stream.write(f"\r\x1b[K{line}" if self._tty else line + "\n")
        self._stream.flush()
