"""The demo's safety grid: from the screen to the door, on this machine.

The quarter's grid is imported as rosters (``simulators.grid_roster``: two grid workers per
zone, supervisors, one webhook channel reaching the simulated phones) and the site dispatches
its confirmed fires by itself. Simulated grid workers (``simulators.grid_workers``) answer
every message through its field link. A demo operator does what a person at the console would,
through the API with the demo's token: acknowledges each fire incident after a look; for one no
second device confirmed, checks a camera that shows the place and then dispatches it (a
confirmed one has gone by itself meanwhile); and records the 119 call when the field reports a
real fire. Every step is printed.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

import orjson

from dispatch.roster_import import import_rosters, parse
from settings import Settings
from simulators.grid_roster import roster_document
from simulators.grid_workers import SCENARIO_FINDINGS, Finding, GridWorkers, Truth, WorkerEvent
from store.audit import Actor
from store.database import connect_async
from store.dispatches import put_dispatch_settings

ACK_AFTER_S = 8.0  # the operator reads the card before acknowledging
DISPATCH_AFTER_S = 30.0  # and looks through a camera before sending someone
POLL_S = 2.0
TIMEOUT_S = 10.0
DEMO = Actor("demo")
# The demo's own detector test in the community hall: no fire, a test.
STAGED_TEST = Finding(
    truth=Truth.NUISANCE, cause="testing", note="演示用探测器加热测试，现场无火情"
)


async def seed_grid(settings: Settings, *, zones: Iterable[str], phones: str, seed: int) -> str:
    """The grid's rosters imported and automatic dispatch switched on; a line saying so."""
    document = roster_document(list(zones), url=phones, seed=seed)
    async with await connect_async(settings.database_url) as conn, conn.transaction():
        report = await import_rosters(
            conn, parse(orjson.dumps(document), "json"), dry_run=False, actor=DEMO
        )
        if not report.ok:
            raise RuntimeError(f"the demo's rosters did not import: {report.errors}")
        await put_dispatch_settings(conn, site=settings.site, auto_dispatch_fire=True, actor=DEMO)
    return (
        f"grid: {len(document['people'])} people on the rosters of {len(report.rosters)} zones; "
        f"confirmed fires dispatch themselves; the simulated phones listen at {phones}"
    )


class DemoGrid:
    """The simulated workers, what each staged place holds, and the demo operator."""

    def __init__(self, settings: Settings, *, seed: int) -> None:
        self._base = f"http://{settings.api_host}:{settings.api_port}"
        self._site = settings.site
        self._found: dict[str, Finding] = {}
        self._lock = threading.Lock()
        self._verdicts: queue.Queue[WorkerEvent] = queue.Queue()
        self._by_operator: set[int] = set()  # incidents the demo operator dispatched
        self.workers = GridWorkers(seed=seed, findings=self.finding, on_event=self._event)

    def stage(self, devices: Iterable[str], finding: Finding | None) -> None:
        """What a worker will find where these devices are."""
        with self._lock:
            for device in devices:
                if finding is None:
                    self._found.pop(device, None)
                else:
                    self._found[device] = finding

    def stage_scenario(self, name: str, devices: Iterable[str]) -> None:
        self.stage(devices, SCENARIO_FINDINGS.get(name))

    def finding(self, devices: Iterable[str]) -> Finding | None:
        with self._lock:
            return next((self._found[d] for d in devices if d in self._found), None)

    def _event(self, event: WorkerEvent) -> None:
        if event.step == "message" and event.incident_id not in self._by_operator:
            print(f"demo: {event.text()}: a confirmed fire, dispatched automatically")
        else:
            print(f"demo: {event.text()}")
        if event.step == "verdict" and event.verdict == "real_fire":
            self._verdicts.put(event)

    def operate(self, token: str, stop: threading.Event) -> None:
        """The demo operator, until ``stop``."""
        seen: dict[int, float] = {}  # incident -> when first seen
        handled: set[int] = set()  # checked and dispatched, or gone automatically
        while not stop.wait(POLL_S):
            try:
                self._round(token, seen, handled)
            except OSError as exc:  # the API restarting or gone: look again next round
                print(f"demo: the operator could not reach the API ({exc})")

    def _round(self, token: str, seen: dict[int, float], handled: set[int]) -> None:
        now = time.monotonic()
        page = _api(token, "GET", f"{self._base}/api/v1/incidents?open=true&class=fire")
        for incident in page["items"]:
            number = incident["id"]
            waited = now - seen.setdefault(number, now)
            place = incident["building"] or f"camera {incident['origin']}"
            url = f"{self._base}/api/v1/incidents/{number}"
            if waited >= ACK_AFTER_S and incident["state"] in ("active_unack", "returned_unack"):
                _api(token, "POST", f"{url}/ack", {})
                print(f"demo: operator acknowledged fire incident {number} in {place}")
            if number in handled or waited < DISPATCH_AFTER_S:
                continue
            handled.add(number)
            if incident["confirmed"]:
                continue  # dispatched automatically
            self._video_check(token, url, incident)
            self._by_operator.add(number)  # before: its message may come before the answer
            made = _api(token, "POST", f"{url}/dispatch", {})
            if "id" in made:
                print(
                    f"demo: operator dispatched incident {number} in {place} (one detector: "
                    f"a worker checks) as dispatch {made['id']}"
                )
        while not self._verdicts.empty():
            fire = self._verdicts.get()
            body = {"confirmed": True, "note": "演示：网格员报告真实火情，已拨打119"}
            url = f"{self._base}/api/v1/incidents/{fire.incident_id}/call-119"
            if "at" in _api(token, "POST", url, body):
                print(f"demo: operator recorded the 119 call for incident {fire.incident_id}")

    def _video_check(self, token: str, url: str, incident: dict[str, Any]) -> None:
        """The first camera that shows the place, and what it shows: the truth staged there."""
        cameras = _api(token, "GET", f"{url}/cameras?limit=1")
        if not cameras:
            return
        devices = [s["device_id"] for s in incident["signals"]]
        found = self.finding(devices)
        result = "smoke_seen" if found and found.truth is Truth.FIRE else "nothing_seen"
        body = {"camera_id": cameras[0]["camera_id"], "result": result}
        if "id" in _api(token, "POST", f"{url}/video-check", body):
            print(
                f"demo: operator checked incident {incident['id']} on camera "
                f"{cameras[0]['camera_id']}: {result.replace('_', ' ')}"
            )


def _api(token: str, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """The API's JSON answer; a refusal (a 409: dispatched already, resolved) as its body."""
    request = urllib.request.Request(  # noqa: S310 - the demo's own API
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in (401, 403):
            raise
        return json.loads(exc.read() or b"{}")
