"""Deterministic randomness: the same seed gives the same quarter, devices and scenarios.

Parameters of a device come from a hash of (seed, device id, name), not from a shared random
stream, so adding a device or sampling devices in another order changes nothing else.
"""

from __future__ import annotations

import hashlib
import random


def stable_unit(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by ``parts``."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def stable_uniform(low: float, high: float, *parts: object) -> float:
    return low + (high - low) * stable_unit(*parts)


def rng_for(*parts: object) -> random.Random:
    """A private random stream; seeding with a string is stable across Python runs."""
    return random.Random("\x1f".join(map(str, parts)))
