"""Where tests/broker/ and bench/cluster.py import the stream checks from; their SQL lives in
store/stream_checks.py, as all SQL does. Those callers can import the store module directly,
and this one then goes."""

from __future__ import annotations

from store.stream_checks import out_of_order, register_in_buildings

__all__ = ["out_of_order", "register_in_buildings"]
