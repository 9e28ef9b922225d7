"""A service a fault test stops and starts again at will."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Restartable:
    """``with`` starts it and stops it however the test ends; ``start``/``stop`` in between
    inflict the fault."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
