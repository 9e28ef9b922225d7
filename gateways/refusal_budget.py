"""How many refusals a receiver facing the internet dead-letters: a token bucket. An
unauthenticated sender must not fill a site's dead letters (capped per site: the real ones
would then only be counted) nor the gateway inbox they travel through."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

BURST = 20
PER_S = 1.0


@dataclass(slots=True)
class RefusalBudget:
    burst: float = BURST
    per_s: float = PER_S
    tokens: float = BURST
    refilled: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def may_record(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.per_s)
            self.refilled = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True
