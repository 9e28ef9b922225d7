"""A device's lifecycle: which status may follow which (pure; ``registry.device_status``
applies it).

registered -> commissioning -> active -> maintenance (until a time, with a reason) -> back to
the status it left (commissioning or active); any of them -> decommissioned, which is final:
the id keeps its history and ingest rejects its messages. A new device at the same place is a
new id (see replacement).
"""

from __future__ import annotations

INITIAL_STATUSES = ("registered", "commissioning", "active")

TRANSITIONS: dict[str, frozenset[str]] = {
    "registered": frozenset({"commissioning", "active", "decommissioned"}),
    "commissioning": frozenset({"active", "maintenance", "decommissioned"}),
    "active": frozenset({"commissioning", "maintenance", "decommissioned"}),
    # maintenance -> maintenance extends or shortens the window.
    "maintenance": frozenset({"maintenance", "active", "commissioning", "decommissioned"}),
    "decommissioned": frozenset(),
}


class IllegalTransition(Exception):
    """The lifecycle does not allow this step; the message says what would."""


def why_not(current: str, wanted: str) -> str | None:
    """None when ``current -> wanted`` is a lifecycle step, else the reason and what to do."""
    if wanted in TRANSITIONS[current]:
        return None
    if current == "decommissioned":
        return "the device is decommissioned, which is final; register the hardware under a new id"
    if current == wanted:
        return f"the device is already {wanted}"
    if wanted == "registered":
        return "a device never goes back to 'registered'; use 'commissioning' to test it again"
    allowed = ", ".join(sorted(TRANSITIONS[current]))
    return f"'{current}' may go to {allowed}, not to '{wanted}'"


def resume_status(current: str) -> str | None:
    """The status a device goes back to when its maintenance ends: the one it left. Extending
    maintenance (None) keeps the one recorded when it began."""
    return current if current != "maintenance" else None
