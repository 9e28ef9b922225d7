"""How ingest notices that its broker session was taken over or lost, and the trouble alert
it raises for it. Which logins its sessions use is in contract/logins.py."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule

# A connection the broker drops this often, each time answering the reconnect at once, is
# being fought over: another client connects with the same client id.
FLAP_DROPS = 3
FLAP_WINDOW_S = 60.0
FLAP_QUICK_S = 3.0
# MQTT 5 reason code 0x8E: the broker closed this connection for a newer one with the same id.
SESSION_TAKEN_OVER = 142
# The trouble alert returns to normal once the session has held this long.
SESSION_CLEAR_S = 300.0


@dataclass(frozen=True, slots=True)
class SessionTrouble:
    """The persistent session was taken over or lost: what was queued in it may be gone."""

    client_id: str
    at: float  # time.time()
    reason: str


def recent_problem(troubles: Iterable[SessionTrouble | None], *, now: float) -> str | None:
    """The latest of the sessions' last troubles while it is recent, for /readyz."""
    recent = [t for t in troubles if t is not None and now - t.at < SESSION_CLEAR_S]
    return max(recent, key=lambda t: t.at).reason if recent else None


class SessionWatch:
    """Judges a session's connects and drops; pure apart from the clock it is given."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._had_session = False
        self._dropped_at: float | None = None
        self._quick_drops: deque[float] = deque()

    def connected(self, *, session_present: bool, now: float) -> SessionTrouble | None:
        """A CONNACK accepted: a reconnect that finds no session lost what it held."""
        dropped_at, self._dropped_at = self._dropped_at, None
        if self._had_session and not session_present:
            return SessionTrouble(
                self.client_id,
                now,
                f"the broker had no session for client id {self.client_id!r} on reconnect: "
                "another client took it over with a clean session, or the broker lost its "
                "state; messages queued for ingest meanwhile may be lost",
            )
        if dropped_at is not None and now - dropped_at <= FLAP_QUICK_S:
            self._quick_drops.append(now)
        while self._quick_drops and now - self._quick_drops[0] > FLAP_WINDOW_S:
            self._quick_drops.popleft()
        if len(self._quick_drops) >= FLAP_DROPS:
            self._quick_drops.clear()
            return SessionTrouble(
                self.client_id,
                now,
                f"the broker dropped client id {self.client_id!r} {FLAP_DROPS} times within "
                f"{FLAP_WINDOW_S:.0f} s, answering each reconnect at once: another client is "
                "connecting with the same id",
            )
        return None

    def subscribed(self) -> None:
        """From now on the broker holds a persistent session for this id."""
        self._had_session = True

    def dropped(self, *, reason_code: int, now: float) -> SessionTrouble | None:
        self._dropped_at = now
        if reason_code == SESSION_TAKEN_OVER:
            return SessionTrouble(
                self.client_id,
                now,
                f"the broker handed the session of client id {self.client_id!r} to another "
                "connection (MQTT 5 'session taken over')",
            )
        return None


class SessionAlerts:
    """Turns session troubles into ingest's trouble alert (``mqtt_session``, one per client
    id): raised at each trouble, returned to normal once the session has held for
    ``SESSION_CLEAR_S``. Planned inside the timers' transaction, kept only if it commits."""

    def __init__(self, site: str) -> None:
        self.site = site
        self._pending: list[SessionTrouble] = []
        self._open: dict[str, float] = {}  # client id -> time of its last trouble
        self._planned: list[Decision] = []

    def remember_open(
        self, open_alerts: Iterable[tuple[str, str]], *, client_ids: Iterable[str], now: float
    ) -> None:
        """At start-up: an alert of ours left open by the last process returns to normal once
        the session has held SESSION_CLEAR_S from now, as if raised now."""
        ours = {f"ingest:{c}": c for c in client_ids}
        for subject, rule in open_alerts:
            if rule == Rule.MQTT_SESSION and subject in ours:
                self._open.setdefault(ours[subject], now)

    def note(self, troubles: Iterable[SessionTrouble]) -> None:
        self._pending.extend(troubles)

    def plan(self, *, now: float, connected: Mapping[str, bool]) -> list[Decision]:
        raised = [
            Decision(
                subject=f"ingest:{t.client_id}",
                rule=Rule.MQTT_SESSION,
                alert_class=AlertClass.TROUBLE,
                change=Change.RAISE,
                at=datetime.fromtimestamp(t.at, UTC),
                site=self.site,
                detail={"client_id": t.client_id, "reason": t.reason},
            )
            for t in self._pending
        ]
        troubled = {t.client_id for t in self._pending}
        cleared = [
            Decision(
                subject=f"ingest:{client_id}",
                rule=Rule.MQTT_SESSION,
                alert_class=AlertClass.TROUBLE,
                change=Change.CLEAR,
                at=datetime.fromtimestamp(now, UTC),
                site=self.site,
                detail={"client_id": client_id, "held_s": round(now - at)},
            )
            for client_id, at in self._open.items()
            if client_id not in troubled
            and connected.get(client_id, False)
            and now - at >= SESSION_CLEAR_S
        ]
        self._planned = raised + cleared
        return self._planned

    def committed(self) -> None:
        for d in self._planned:
            client_id = d.detail["client_id"]
            if d.change is Change.CLEAR:
                self._open.pop(client_id, None)
            else:
                self._open[client_id] = d.at.timestamp()
        self._pending, self._planned = [], []
