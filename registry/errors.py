"""What the registry's service refuses, in its own words: the API maps each to one status
(api/errors.py), the console script prints it; neither needs the service to know about them."""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """``message`` says what was wrong and, where it can, what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(RegistryError):
    """No such device, building, zone or pending id."""


class Conflict(RegistryError):
    """The request is well formed but the registry's state forbids it (an id taken, a device
    decommissioned, a building still in use, a step the lifecycle does not allow)."""


class Invalid(RegistryError):
    """A value the body's own schema accepted but the registry refuses: ``loc`` is its path
    in the body, e.g. ``("config", "covers")``, and ``value`` what was sent there."""

    def __init__(self, loc: tuple[str, ...], message: str, value: Any = None) -> None:
        super().__init__(message)
        self.loc, self.value = loc, value
