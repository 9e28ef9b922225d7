"""Hostile payloads, each with the reason it must be dead-lettered for, built so that the reason
follows from how it was made (docs/contract.md, "Rejection reasons"), never from the codec.

Seeded: the same seed gives the same messages, so a failure can be replayed."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from contract.messages import Reason
from contract.topics import Channel, topic_for

ORJSON_MAX_DEPTH = 1024  # deeper is a parse error
PAYLOAD_MAX = 256 * 1024  # FIREWATCH_MAX_PAYLOAD_BYTES, FIREWATCH_MAX_FRAME_BYTES defaults
FRAME_MAX = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Hostile:
    kind: str
    topic: str
    payload: bytes
    reason: Reason | None  # None: a redelivered duplicate, counted and stored once


class Generator:
    def __init__(self, site: str, devices: list[str], *, seed: int, now: datetime) -> None:
        self.site, self.devices, self.rng = site, devices, random.Random(seed)
        self.now_ms = int(now.timestamp() * 1000)
        self.seq = 1_000_000  # far above the valid traffic's: no hostile key meets a valid one

    def _body(self, **fields: object) -> dict[str, object]:
        self.seq += 1
        ts = self.now_ms - self.rng.randrange(1, 3_600_000)
        return {"ts": ts, "seq": self.seq, **fields}

    def _topic(self, channel: Channel = Channel.READING) -> str:
        return topic_for(self.site, self.rng.choice(self.devices), channel)

    def random_bytes(self) -> tuple[str, bytes, Reason]:
        # 0xff never occurs in UTF-8, so these bytes can never parse as JSON.
        return (
            self._topic(),
            b"\xff" + self.rng.randbytes(self.rng.randrange(0, 600)),
            Reason.MALFORMED,
        )

    def deep_nesting(self) -> tuple[str, bytes, Reason]:
        depth = self.rng.randrange(ORJSON_MAX_DEPTH + 1, 20_000)
        inner = b"[" * depth + b"]" * depth
        if self.rng.random() < 0.5:
            return self._topic(), inner, Reason.MALFORMED
        head = orjson.dumps(self._body())[:-1]
        return (
            self._topic(),
            head + b',"values":{"temperature_c":' + inner + b"}}",
            Reason.MALFORMED,
        )

    def deep_detail(self) -> tuple[str, bytes, Reason]:
        """Parses, but nests deeper than the contract's 16 levels of event detail."""
        detail: object = "x"
        for _ in range(self.rng.randrange(17, 200)):
            detail = {"k": detail}
        return (
            self._topic(Channel.EVENT),
            orjson.dumps(self._body(type="test", detail=detail)),
            Reason.SCHEMA,
        )

    def huge_json(self) -> tuple[str, bytes, Reason]:
        pad = "x" * (PAYLOAD_MAX + self.rng.randrange(1, 200_000))
        body = self._body(values={"temperature_c": 21.0}, region=pad)
        return self._topic(), orjson.dumps(body), Reason.OVERSIZE

    def oversize_frame(self) -> tuple[str, bytes, Reason]:
        return (
            self._topic(Channel.FRAME),
            b"\0" * (FRAME_MAX + self.rng.randrange(1, 4096)),
            Reason.OVERSIZE,
        )

    def not_finite(self) -> tuple[str, bytes, Reason]:
        value = self.rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
        head = orjson.dumps(self._body())[:-1]
        return (
            self._topic(),
            head + b',"values":{"temperature_c":' + value + b"}}",
            Reason.MALFORMED,
        )

    def lone_surrogate(self) -> tuple[str, bytes, Reason]:
        head = orjson.dumps(self._body(values={"temperature_c": 20.0}))[:-1]
        return self._topic(), head + b',"region":"\\ud800x"}', Reason.MALFORMED

    def wrong_type(self) -> tuple[str, bytes, Reason]:
        seq = self.seq + 1
        body = self.rng.choice(
            [
                self._body(values={"temperature_c": "22.5"}),
                self._body(values={"temperature_c": None}),
                self._body(values={"temperature_c": True}),
                self._body(values=[22.5]),
                self._body(values={}),
                {**self._body(values={"temperature_c": 1.0}), "seq": str(seq)},
                {**self._body(values={"temperature_c": 1.0}), "seq": 1.0 * seq},
                {**self._body(values={"temperature_c": 1.0}), "seq": -1},
                {**self._body(values={"temperature_c": 1.0}), "seq": 2**63},
                {**self._body(values={"temperature_c": 1.0}), "ts": self.now_ms / 1000},
                {**self._body(values={"temperature_c": 1.0}), "ts": "2025-06-01T12:00:00"},
                {**self._body(values={"temperature_c": 1.0}), "colour": "red"},
                {"seq": seq, "values": {"temperature_c": 1.0}},
            ]
        )
        return self._topic(), orjson.dumps(body), Reason.SCHEMA

    def wrong_type_event(self) -> tuple[str, bytes, Reason]:
        body = self.rng.choice(
            [
                self._body(type=7),
                self._body(type="explode"),
                self._body(type="test", detail=[1, 2]),
                self._body(type="test", detail={"a\u0000b": 1}),
            ]
        )
        return self._topic(Channel.EVENT), orjson.dumps(body), Reason.SCHEMA

    def unicode_metric(self) -> tuple[str, bytes, Reason]:
        name = self.rng.choice(["温度", "température", "temperature_c\u200b", "🔥"])
        return self._topic(), orjson.dumps(self._body(values={name: 20.0})), Reason.SCHEMA

    def bad_topic(self) -> tuple[str, bytes, Reason]:
        device = self.rng.choice(self.devices)
        base = f"fw/v1/{self.site}"
        topic = self.rng.choice(
            [
                base,
                f"{base}/{device}",
                f"{base}/{device}/reading/extra",
                f"{base}/{device}/READING",
                f"{base}/{device}/alarm",
                f"{base}/bad id/reading",
                f"{base}/{'a' * 65}/reading",
                f"{base}/设备-{self.rng.randrange(99)}/reading",
                f"{base}//reading",
            ]
        )
        return topic, orjson.dumps(self._body(values={"temperature_c": 20.0})), Reason.BAD_TOPIC

    def future(self) -> tuple[str, bytes, Reason]:
        ahead = self.rng.randrange(301_000, 10 * 365 * 86_400_000)
        body = {**self._body(values={"temperature_c": 20.0}), "ts": self.now_ms + ahead}
        return self._topic(), orjson.dumps(body), Reason.FUTURE_TIMESTAMP

    def beyond_2100(self) -> tuple[str, bytes, Reason]:
        """Outside the contract's window for ``ts`` (years 2000..2099): a schema error."""
        body = {**self._body(values={"temperature_c": 20.0}), "ts": "2150-01-01T00:00:00Z"}
        return self._topic(), orjson.dumps(body), Reason.SCHEMA

    def stale(self) -> tuple[str, bytes, Reason]:
        behind = self.rng.randrange(8 * 86_400_000, 365 * 86_400_000)
        body = {**self._body(values={"temperature_c": 20.0}), "ts": self.now_ms - behind}
        return self._topic(), orjson.dumps(body), Reason.STALE

    def out_of_range(self) -> tuple[str, bytes, Reason]:
        values = self.rng.choice(
            [
                {"temperature_c": 5000.0},
                {"temperature_c": -273.0},
                {"obscuration_pct_per_m": -0.5},
                {"obscuration_pct_per_m": 101},
            ]
        )
        return self._topic(), orjson.dumps(self._body(values=values)), Reason.OUT_OF_RANGE

    def unknown_device(self) -> tuple[str, bytes, Reason]:
        topic = topic_for(self.site, f"ghost-{self.rng.randrange(10_000)}", Channel.READING)
        return (
            topic,
            orjson.dumps(self._body(values={"temperature_c": 20.0})),
            Reason.UNKNOWN_DEVICE,
        )

    def kind_mismatch(self) -> tuple[str, bytes, Reason]:
        if self.rng.random() < 0.5:
            body = self._body(values={"residual_current_ma": 120.0})
            return self._topic(), orjson.dumps(body), Reason.KIND_MISMATCH
        return (
            self._topic(Channel.EVENT),
            orjson.dumps(self._body(type="fire_detected")),
            Reason.KIND_MISMATCH,
        )


# Kind, share of the hostile messages (the big ones are few: each costs a MiB or so).
MIX: dict[str, float] = {
    "random_bytes": 0.14,
    "deep_nesting": 0.04,
    "deep_detail": 0.04,
    "huge_json": 0.003,
    "oversize_frame": 0.001,
    "not_finite": 0.08,
    "lone_surrogate": 0.03,
    "wrong_type": 0.12,
    "wrong_type_event": 0.05,
    "unicode_metric": 0.05,
    "bad_topic": 0.1,
    "future": 0.06,
    "beyond_2100": 0.02,
    "stale": 0.05,
    "out_of_range": 0.06,
    "unknown_device": 0.05,
    "kind_mismatch": 0.05,
}


def hostile_messages(
    site: str,
    devices: list[str],
    valid: list[tuple[str, bytes]],
    *,
    count: int,
    seed: int,
    duplicate_share: float = 0.056,
) -> list[Hostile]:
    """``count`` hostile messages: the MIX, and exact copies of valid messages (duplicates)."""
    gen = Generator(site, devices, seed=seed, now=datetime.now(UTC) - timedelta(seconds=1))
    makers: dict[str, Callable[[], tuple[str, bytes, Reason]]] = {
        name: getattr(gen, name) for name in MIX
    }
    out: list[Hostile] = []
    duplicates = int(count * duplicate_share)
    for topic, payload in gen.rng.sample(valid, duplicates):
        out.append(Hostile("duplicate", topic, payload, None))
    names = list(MIX)
    for name in gen.rng.choices(names, weights=[MIX[n] for n in names], k=count - duplicates):
        topic, payload, reason = makers[name]()
        out.append(Hostile(name, topic, payload, reason))
    return out
