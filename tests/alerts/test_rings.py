"""A metric ring stores sample times as int32 milliseconds from an epoch that moves forward:
what the rules read must not change when it moves, nor when a batch is rolled back across it."""

from __future__ import annotations

import numpy as np

from alerts.rings import MetricRing

DAY = 86_400.0


def fed(start: float, seconds: int, *, ring: MetricRing | None = None) -> MetricRing:
    """One device warming by 6 °C a minute, sampled every second from ``start``."""
    ring = ring or MetricRing()
    rows = ring.rows_for(np.array([0]))
    for k in range(seconds):
        ring.push(rows, np.array([start + k]), np.array([20.0 + 0.1 * k]),
                  tau_s=np.array([600.0]), min_sigma=np.array([0.25]))  # fmt: skip
    return ring


def rate(ring: MetricRing) -> float:
    rows = np.array([0])
    return float(ring.rate_per_min(rows, np.array([30.0]), ring.level(rows))[0])


def test_the_rate_is_the_same_after_the_epoch_moves() -> None:
    near = fed(1.7e9, 40)
    # The level now is a median of three, a sample behind: 2.9 °C over 30 s.
    assert abs(rate(near) - 5.8) < 1e-4
    far = fed(1.7e9, 10)
    first_epoch = far.epoch
    fed(1.7e9 + 13 * DAY, 40, ring=far)  # past the ~12.4 days an epoch covers
    assert far.epoch is not None and first_epoch is not None and far.epoch > first_epoch
    assert abs(rate(far) - rate(near)) < 1e-6
    times = far.seconds(far.t[0])
    assert np.nanmax(times) == 1.7e9 + 13 * DAY + 39


def test_a_rollback_across_a_move_of_the_epoch_puts_the_same_times_back() -> None:
    ring = fed(1.7e9, 32)
    rows = np.array([0])
    before, rate_before = ring.seconds(ring.t[rows]).copy(), rate(ring)
    saved = ring.rows(rows)
    fed(1.7e9 + 20 * DAY, 5, ring=ring)
    ring.restore(rows, saved)
    np.testing.assert_array_equal(ring.seconds(ring.t[rows]), before)
    assert rate(ring) == rate_before


def test_times_are_kept_to_the_millisecond() -> None:
    ring = MetricRing()
    rows = ring.rows_for(np.array([0, 1]))
    t = np.array([1.7e9 + 0.123, 1.7e9 + 5.4567])
    ring.push(rows, t, np.array([1.0, 2.0]), tau_s=np.full(2, 600.0), min_sigma=np.full(2, 0.25))
    stored = ring.seconds(ring.t[rows, 0])
    assert np.all(np.abs(stored - t) <= 0.0005)
