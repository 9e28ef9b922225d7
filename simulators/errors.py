"""Errors in what a person gave the simulators (a file, a mapping, a name)."""


class InputError(ValueError):
    """The message names the line, column or option at fault, and what to do about it."""
