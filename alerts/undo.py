"""The engine's undo log: what one evaluation or tick changed, so a failed transaction puts
the engine back exactly as it was and the retried batch is judged once.

Array state (rings, tracks, trends, heard times) is saved row by row, only the rows a batch
touches, and Python-side state key by key as it changes: a batch pays for what it changes, not
for the size of the engine. Small parts (the correlator, the timers' sets) are saved whole,
only when they are about to change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


class RowStore(Protocol):
    """Per-row array state: a copy of some rows, and putting them back."""

    def rows(self, rows: I64) -> Any: ...
    def restore(self, rows: I64, saved: Any) -> None: ...


class Snapshots(Protocol):
    """Python-side state saved and restored whole."""

    def snapshot(self) -> Any: ...
    def restore_snapshot(self, saved: Any) -> None: ...


class _Entry(Protocol):
    def undo(self) -> None: ...


@dataclass(slots=True)
class _Rows:
    store: RowStore
    rows: I64
    saved: Any

    def undo(self) -> None:
        self.store.restore(self.rows, self.saved)


@dataclass(slots=True)
class _Snapshot:
    owner: Snapshots
    saved: Any

    def undo(self) -> None:
        self.owner.restore_snapshot(self.saved)


@dataclass(slots=True)
class _Item:
    """One key of a mapping: its old value, or its absence."""

    mapping: dict[Any, Any]
    key: Any
    had: bool
    value: Any

    def undo(self) -> None:
        if self.had:
            self.mapping[self.key] = self.value
        else:
            self.mapping.pop(self.key, None)


class UndoLog:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def save_rows(self, store: RowStore, rows: I64) -> None:
        self._entries.append(_Rows(store, rows, store.rows(rows)))

    def save_snapshot(self, owner: Snapshots) -> None:
        self._entries.append(_Snapshot(owner, owner.snapshot()))

    def save_item(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        """``value``: what to put back (a copy, if the caller goes on to change it in place)."""
        self._entries.append(_Item(mapping, key, key in mapping, value))

    def commit(self) -> None:
        self._entries.clear()

    def rollback(self) -> None:
        """Undoes the newest change first, so every row ends as it was before the oldest."""
        while self._entries:
            self._entries.pop().undo()
