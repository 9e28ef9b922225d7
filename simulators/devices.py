"""A minimal device for the ingest and API tests: a reading, an event, a status, on demand.

The quarter's realistic devices (daily cycles, drift, plumes) are in ``simulators.models``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from contract.kinds import Kind
from contract.topics import Channel, topic_for


def epoch_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


@dataclass(slots=True)
class SimDevice:
    id: str
    kind: Kind
    site: str
    seq: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def reading(self, ts: datetime, **override: float) -> tuple[str, bytes]:
        r = self.rng
        if self.kind is Kind.SMOKE:
            values = {
                "obscuration_pct_per_m": round(abs(r.gauss(0.2, 0.05)), 3),
                "temperature_c": round(r.gauss(24.0, 0.5), 2),
            }
        elif self.kind is Kind.ELECTRICAL:
            values = {
                "residual_current_ma": round(r.uniform(100, 200), 1),
                "cable_temp_c": round(r.gauss(32.0, 1.0), 2),
            }
        else:
            values = {
                "max_temp_c": round(r.gauss(38.0, 2.0), 2),
                "avg_temp_c": round(r.gauss(26.0, 1.0), 2),
                "min_temp_c": round(r.gauss(18.0, 1.0), 2),
            }
        values.update(override)
        body = {"ts": epoch_ms(ts), "seq": self._next(), "values": values}
        return topic_for(self.site, self.id, Channel.READING), orjson.dumps(body)

    def event(self, ts: datetime, event_type: str) -> tuple[str, bytes]:
        body = {"ts": ts.astimezone(UTC).isoformat(), "seq": self._next(), "type": event_type}
        return topic_for(self.site, self.id, Channel.EVENT), orjson.dumps(body)

    def status(self, ts: datetime, *, battery_pct: float = 97.0) -> tuple[str, bytes]:
        body = {
            "ts": epoch_ms(ts),
            "seq": self._next(),
            "battery_pct": battery_pct,
            "rssi_dbm": round(self.rng.uniform(-95, -60)),
            "firmware": "1.4.2",
        }
        return topic_for(self.site, self.id, Channel.STATUS), orjson.dumps(body)
