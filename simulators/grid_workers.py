"""Simulated grid workers (网格员): the phones the dispatch messages reach, and the people who
answer them through their field links after realistic delays, so the demo shows the whole loop.

One local HTTP server stands in for every phone: it takes whatever a channel posts (a generic
webhook, or a robot's WeCom, DingTalk or Feishu body: it answers as each of them accepts),
finds the field link in it, and hands the link to the worker it was sent to. That worker reads
the incident through the field API, as the field page does, then answers over real HTTP:
accept after 10 to 40 s, on my way a few seconds later, arrived 1 to 4 minutes after
accepting, and a verdict after looking round. What they find is the truth of the place
(``Finding``: a fire, or a nuisance and its cause), told by whoever plays the scenario.

Deterministic per seed: a worker's delays and verdict follow from (seed, dispatch, person)
alone. ``speed`` divides every delay, for tests and benchmarks.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulators.seeding import stable_uniform, stable_unit

# Realistic delays, in seconds: to accept after the message; on my way after accepting;
# arrived after accepting; the verdict after arriving.
ACCEPT_S = (10.0, 40.0)
ON_MY_WAY_S = (3.0, 10.0)
ARRIVE_S = (60.0, 240.0)
VERDICT_S = (20.0, 90.0)
# A nuisance is mostly found a false alarm; now and then nobody opens the door.
NO_ACCESS_CHANCE = 0.1
NO_ACCESS_CAUSES = ("locked", "no_answer")
REPLY_MAX_BYTES = 64 * 1024
HTTP_TIMEOUT_S = 10.0
# A field link in any message body: the webhook's JSON, a robot's text or markdown.
_LINK = re.compile(r"(https?://[^\s\"'<>()\[\]\\]+?)/field/([A-Za-z0-9_.-]+)")
# Every robot's "taken": WeCom and DingTalk read errcode, Feishu code.
_ACCEPTED = b'{"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}'


class Truth(StrEnum):
    FIRE = "fire"
    NUISANCE = "nuisance"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What a worker finds on arrival: a fire or a nuisance, and its cause as the field page
    names causes (``dispatch.steps.CAUSES``: ebike_charging, cooking_fumes, steam, …)."""

    truth: Truth
    cause: str
    note: str


# What each scenario of the library leaves for a worker to find (simulators/scenarios).
SCENARIO_FINDINGS: dict[str, Finding] = {
    "flaming_fire": Finding(
        truth=Truth.FIRE, cause="open_flame", note="杂物间明火，已用灭火器扑救，等待消防队"
    ),
    "smouldering_fire": Finding(
        truth=Truth.FIRE, cause="open_flame", note="烟头引燃沙发阴燃，已断电并疏散住户"
    ),
    "electrical_fire": Finding(
        truth=Truth.FIRE, cause="electrical", note="配电箱线路起火，已拉闸断电"
    ),
    "ebike_charging": Finding(
        truth=Truth.FIRE, cause="ebike_charging", note="楼道电动车充电起火，已断电隔离"
    ),
    "cooking_smoke": Finding(
        truth=Truth.NUISANCE, cause="cooking_fumes", note="住户炒菜油烟，已提醒开窗通风"
    ),
    "bathroom_steam": Finding(
        truth=Truth.NUISANCE, cause="steam", note="卫生间洗澡水汽，探测器位置需调整"
    ),
    "dust_drift": Finding(truth=Truth.NUISANCE, cause="dust", note="装修粉尘，已请施工方遮盖"),
    "sun_glint": Finding(truth=Truth.NUISANCE, cause="other", note="阳光反射，现场无火情"),
    "tamper": Finding(truth=Truth.NUISANCE, cause="device_fault", note="探测器被拆下，已报修"),
    "device_offline": Finding(
        truth=Truth.NUISANCE, cause="device_fault", note="设备离线，已通知维保"
    ),
}
# A place nobody staged anything in: the worker finds nothing.
NOTHING_FOUND = Finding(truth=Truth.NUISANCE, cause="other", note="现场未发现火情")

Findings = Callable[[Sequence[str]], Finding | None]  # signal device ids -> what is there


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One worker's answers to one dispatch: delays in seconds (accept after the message, on
    my way and arrived after accepting, verdict after arriving) and the verdict."""

    accept_s: float
    on_my_way_s: float
    arrive_s: float
    verdict_s: float
    verdict: str  # real_fire | false_alarm | no_access
    cause: str
    note: str


def plan_for(*, seed: int, dispatch_id: int, person_id: str, finding: Finding) -> Plan:
    """The same plan for the same seed, dispatch and person, whatever else happens."""
    key = (seed, dispatch_id, person_id)
    if finding.truth is Truth.FIRE:
        verdict, cause, note = "real_fire", finding.cause, finding.note
    elif stable_unit(*key, "no_access") < NO_ACCESS_CHANCE:
        cause = NO_ACCESS_CAUSES[int(stable_unit(*key, "why") * len(NO_ACCESS_CAUSES))]
        verdict, note = (
            "no_access",
            "敲门无人应答，已联系房东" if cause == "no_answer" else "门锁着",
        )
    else:
        verdict, cause, note = "false_alarm", finding.cause, finding.note
    return Plan(
        accept_s=stable_uniform(*ACCEPT_S, *key, "accept"),
        on_my_way_s=stable_uniform(*ON_MY_WAY_S, *key, "on_my_way"),
        arrive_s=stable_uniform(*ARRIVE_S, *key, "arrive"),
        verdict_s=stable_uniform(*VERDICT_S, *key, "verdict"),
        verdict=verdict,
        cause=cause,
        note=note,
    )


def field_link(body: bytes) -> tuple[str, str] | None:
    """(the API's base URL, the token) of the first field link in a message body."""
    text = body.decode("utf-8", errors="replace")
    # JSON escapes a slash as \/ at will; a link is a link either way.
    found = _LINK.search(text.replace("\\/", "/"))
    return None if found is None else (found[1], found[2])


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerEvent:
    """One thing that happened to a worker: the message arrived, a step was answered, or the
    field API refused (a 403 or 409: the link withdrawn, the dispatch someone else's)."""

    step: str  # message | accept | on_my_way | arrived | verdict | refused | failed
    person_id: str
    name: str
    incident_id: int
    dispatch_id: int
    at: float  # time.monotonic()
    verdict: str | None = None
    cause: str | None = None
    detail: str | None = None

    def text(self) -> str:
        who = f"grid worker {self.name} ({self.person_id})"
        about = f"incident {self.incident_id}, dispatch {self.dispatch_id}"
        match self.step:
            case "message":
                return f"dispatch message reached {who} ({about})"
            case "accept":
                return f"{who} accepted ({about})"
            case "on_my_way":
                return f"{who} is on the way ({about})"
            case "arrived":
                return f"{who} arrived ({about})"
            case "verdict":
                return f"{who}'s verdict: {self.verdict} ({self.cause}; {about})"
        return f"{who} stopped: {self.step}, {self.detail} ({about})"


class FieldRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The field API's JSON answer; FieldRefused for a 4xx, OSError when unreachable."""
    request = urllib.request.Request(  # noqa: S310 - the link's own http(s) address
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            found: dict[str, Any] = json.loads(response.read(REPLY_MAX_BYTES))
            return found
    except urllib.error.HTTPError as exc:
        reply = exc.read(REPLY_MAX_BYTES).decode(errors="replace") if exc.fp else ""
        try:
            detail = str(json.loads(reply).get("detail", reply))
        except ValueError:
            detail = reply
        raise FieldRefused(exc.code, detail[:200]) from None


class GridWorkers:
    """The phones' receiver at ``url`` and the workers behind it, until ``stop``. A link is
    answered once however often it arrives: the queue sends at least once, so a message may
    come twice, and a person acts on the first."""

    def __init__(
        self,
        *,
        seed: int,
        findings: Findings = lambda _devices: None,
        speed: float = 1.0,
        on_event: Callable[[WorkerEvent], None] = lambda _event: None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be above 0")
        self._seed, self._findings, self._speed = seed, findings, speed
        self._on_event = on_event
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._workers: list[threading.Thread] = []
        self.events: list[WorkerEvent] = []
        self.messages = 0  # requests received, duplicates included
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._serving = threading.Thread(
            target=self._server.serve_forever, name="grid-phones", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/phones"

    def start(self) -> None:
        self._serving.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=HTTP_TIMEOUT_S + 1)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        workers = self

        class Phone(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, REPLY_MAX_BYTES))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(_ACCEPTED)))
                self.end_headers()
                self.wfile.write(_ACCEPTED)
                workers.received(body)

            def log_message(self, *_args: Any) -> None:
                pass  # the demo prints what matters

        return Phone

    def received(self, body: bytes) -> None:
        """A message for a phone: its link answered in a thread of its own, once."""
        link = field_link(body)
        with self._lock:
            self.messages += 1
            if link is None or link[1] in self._seen or self._stop.is_set():
                return
            self._seen.add(link[1])
            worker = threading.Thread(
                target=self._answer, args=link, name="grid-worker", daemon=True
            )
            self._workers.append(worker)
        worker.start()

    def _emit(self, view: dict[str, Any], step: str, **extra: Any) -> None:
        event = WorkerEvent(
            step=step,
            person_id=view["person"]["id"],
            name=view["person"]["name"],
            incident_id=view["incident"]["id"],
            dispatch_id=view["dispatch"]["id"],
            at=time.monotonic(),
            **extra,
        )
        with self._lock:
            self.events.append(event)
        self._on_event(event)

    def _answer(self, base: str, token: str) -> None:
        api = f"{base}/api/v1/field/{token}"
        try:
            view = _call("GET", api)
        except (FieldRefused, OSError):
            return  # a link that never opened: nobody to tell about
        self._emit(view, "message")
        devices = [s["device_id"] for s in view["incident"]["signals"]]
        plan = plan_for(
            seed=self._seed,
            dispatch_id=view["dispatch"]["id"],
            person_id=view["person"]["id"],
            finding=self._findings(devices) or NOTHING_FOUND,
        )
        verdict = {"verdict": plan.verdict, "cause": plan.cause, "note": plan.note}
        steps: list[tuple[float, dict[str, Any]]] = [
            (plan.accept_s, {"step": "accept"}),
            (plan.on_my_way_s, {"step": "on_my_way"}),
            (plan.arrive_s - plan.on_my_way_s, {"step": "arrived"}),
            (plan.verdict_s, {"step": "verdict", **verdict}),
        ]
        for delay, body in steps:
            if self._stop.wait(max(delay, 0.0) / self._speed):
                return
            try:
                _call("POST", f"{api}/steps", body)
            except FieldRefused as exc:
                self._emit(view, "refused", detail=str(exc))
                return
            except OSError as exc:
                self._emit(view, "failed", detail=str(exc))
                return
            extra = {k: body[k] for k in ("verdict", "cause") if k in body}
            self._emit(view, body["step"], **extra)


@contextmanager
def grid_workers(
    *,
    seed: int,
    findings: Findings = lambda _devices: None,
    speed: float = 1.0,
    on_event: Callable[[WorkerEvent], None] = lambda _event: None,
) -> Iterator[GridWorkers]:
    """Started on a free local port; stopped on leaving."""
    workers = GridWorkers(seed=seed, findings=findings, speed=speed, on_event=on_event)
    workers.start()
    try:
        yield workers
    finally:
        workers.stop()
