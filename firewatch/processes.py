"""Starting each process from the other packages; no domain logic lives here.

The processes that serve the API are in firewatch/serving.py, imported only where needed: an
ingest process would carry 15 MB of FastAPI and uvicorn for nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Set
from types import FrameType

from dispatch import loop as dispatch_loop
from dispatch.sender import Sender
from gateways import mapped_mqtt
from gateways.gb26875 import running as gb26875
from gateways.gb26875.server import Gb26875Metrics
from ingest.metrics import serve_metrics
from ingest.parts import IngestParts
from ingest.service import IngestService
from ingest.sources import Source
from settings import Settings
from store.database import connect, ensure_database
from store.migrate import migrate

log = logging.getLogger("firewatch")


def run_migrate(settings: Settings) -> None:
    if ensure_database(settings.database_url):
        print("created the database")
    with connect(settings.database_url) as conn:
        applied = migrate(conn)
    print(f"applied {len(applied)} migration(s)" if applied else "schema is up to date")


# SIGTERM must end a process within 10 s (systemd's and Docker's patience is 90 s and 10 s);
# an orderly stop gets this long, then the process exits anyway, saying what was still running.
STOP_GRACE_S = 8.0


class Stopping:
    """SIGTERM or SIGINT sets ``stop`` for an orderly stop, bounded by a watchdog: whatever
    has not stopped STOP_GRACE_S later (a query on a silent database, a join on a stuck MQTT
    thread, a non-daemon thread at interpreter exit) is logged with where it waits, and the
    process exits with status 1. The watchdog is a daemon thread: a process that ends in time
    ends it too. A second signal exits at once. Once, a SIGTERM after a session takeover hung
    for 80 s."""

    def __init__(self, stop: threading.Event, *, grace_s: float = STOP_GRACE_S) -> None:
        self.stop = stop
        self.grace_s = grace_s
        self._signalled = False
        # Run before a forced exit: what the process started outside itself (embedded
        # services) must not outlive it.
        self.before_exit: list[Callable[[], None]] = []

    def install(self) -> None:
        """Signal handlers can only be set from the main thread; elsewhere (tests) ``stop`` is
        the only way in."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._signalled:
            _exit_now(f"{name} again while stopping; exiting now")
        self._signalled = True
        log.info("%s: stopping (at most %.0f s)", name, self.grace_s)
        self.stop.set()
        threading.Thread(target=self._watch, name="stop-watchdog", daemon=True).start()

    def _watch(self) -> None:
        time.sleep(self.grace_s)
        why = (
            f"still running {self.grace_s:.0f} s after the stop signal, exiting anyway: "
            f"{running_threads()}"
        )
        for cleanup in reversed(self.before_exit):
            try:
                cleanup()
            except Exception:
                log.exception("could not clean up before exiting")
        _exit_now(why)


def running_threads() -> str:
    """Every other live thread and where it waits (its innermost call outside the standard
    library: a wait in threading.py says nothing), for the log of a stop that stuck."""
    stdlib = sysconfig.get_paths()["stdlib"]
    frames = sys._current_frames()
    out = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if thread is threading.current_thread() or frame is None:
            continue
        stack = traceback.extract_stack(frame)
        at = next((f for f in reversed(stack) if not f.filename.startswith(stdlib)), stack[-1])
        out.append(f"{thread.name} ({at.filename}:{at.lineno} in {at.name})")
    return "; ".join(out) or "no other thread"


def _exit_now(why: str) -> None:
    log.error("%s", why)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(1)


def local_gateways(settings: Settings) -> tuple[list[Source], list[gb26875.Gb26875Source]]:
    """The gateways that run in ingest's process, and the GB/T 26875.3 server's among them.
    Partitioned workers each own some devices, and neither a transmission device's packet nor
    a model's topic says which worker's: they need ingest to be one worker."""
    if settings.mapped_mqtt and settings.ingest_workers > 1:
        raise gb26875.SettingsConflict(
            f"FIREWATCH_MAPPED_MQTT is set but ingest runs as {settings.ingest_workers} workers "
            "(FIREWATCH_INGEST_WORKERS): every worker would take every mapped device's messages; "
            "run mapped MQTT devices' site with one ingest worker, or leave FIREWATCH_MAPPED_MQTT "
            "unset"
        )
    panels = gb26875.beside_ingest(settings)
    return [*mapped_mqtt.started(settings), *panels], panels


def run_ingest(settings: Settings) -> None:
    """Ingest runs in a thread of its own, so the main thread stays free to take signals even
    while ingest waits in a C call (psycopg, a socket)."""
    stop = threading.Event()
    Stopping(stop).install()
    gateways, panels = local_gateways(settings)
    parts = IngestParts.from_settings(settings, local_gateways=gateways)
    service = IngestService(settings, parts=parts)
    if settings.ingest_metrics_port:
        serve_metrics(
            settings.ingest_metrics_port,
            service.counters,
            database_url=settings.database_url,
            collectors=[*mapped_mqtt.collectors(gateways), *gb26875.collectors(gateways)],
        )
    gb26875.start(settings, panels, stop)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            service.run(stop)
        except BaseException as exc:
            failed.append(exc)
            stop.set()
        finally:
            for gateway in gateways:
                if isinstance(gateway, mapped_mqtt.MappedMqttSource):
                    gateway.stop()

    ingest = threading.Thread(target=run, name="ingest", daemon=True)
    ingest.start()
    while ingest.is_alive():
        ingest.join(0.5)
    if failed:
        raise failed[0]


def run_dispatcher(settings: Settings) -> None:
    """The notification sender and the dispatch loop (escalation, automatic dispatch); the
    sender's workers and the loop are threads, the main thread takes signals."""
    stop = threading.Event()
    Stopping(stop).install()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            Sender(settings).run(stop)
        except BaseException as exc:
            failed.append(exc)
            stop.set()

    def escalate() -> None:
        try:
            asyncio.run(dispatch_loop.run(settings, stop))
        except BaseException as exc:
            failed.append(exc)
            stop.set()

    threading.Thread(target=escalate, name="dispatch-loop", daemon=True).start()
    sender = threading.Thread(target=run, name="dispatcher", daemon=True)
    sender.start()
    while sender.is_alive():
        sender.join(0.5)
    if failed:
        raise failed[0]


def run_up(
    settings: Settings, *, configured: Set[str] | None = None, stop: threading.Event | None = None
) -> None:
    """Ingest, the API and the dispatcher in one process. A database or broker URL set
    explicitly is used as it is, reachable or not; one left unset is the default address if
    something answers there, else an embedded service (firewatch.embedded), whose database is
    migrated first.
    ``configured`` overrides which URLs count as set explicitly (default: those set in the
    environment).
    A signal stops it in order (embedded services too), within STOP_GRACE_S."""
    from firewatch import embedded
    from firewatch.serving import serve_all

    if configured is None:
        configured = embedded.configured_services(settings)
    stop = stop or threading.Event()
    stopping = Stopping(stop)
    stopping.install()
    started: list[embedded.Service] = []
    stopping.before_exit.append(lambda: embedded.stop_all(started))
    with embedded.services(settings, configured=configured, started=started) as choices:
        if any(choice.embedded and choice.name == "database" for choice in choices):
            run_migrate(settings)
        if not stop.is_set():
            gateways, panels = local_gateways(settings)
            parts = IngestParts.from_settings(settings, local_gateways=gateways)
            service = IngestService(settings, parts=parts)
            gb26875.start(settings, panels, stop)
            try:
                asyncio.run(serve_all(settings, stop, service, own_signals=False))
            finally:
                stop.set()  # the GB/T 26875.3 server's thread too
                for gateway in gateways:
                    if isinstance(gateway, mapped_mqtt.MappedMqttSource):
                        gateway.stop()


def run_gateway(settings: Settings, name: str) -> None:
    """A gateway alone (today the GB/T 26875.3 server): it hands what it receives to ingest
    through the gateway inbox, so any number of ingest workers may run beside it. Its event
    loop runs in a thread; the main thread takes signals."""
    del name  # one gateway runs alone so far; the parser offers only it
    if not settings.gb26875_port:
        raise gb26875.SettingsConflict(
            "set FIREWATCH_GB26875_PORT to the port transmission devices connect to"
        )
    stop = threading.Event()
    Stopping(stop).install()
    metrics = Gb26875Metrics()
    if settings.gb26875_metrics_port:
        gb26875.serve_metrics(settings.gb26875_metrics_port, metrics)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(gb26875.standalone(settings, stop, metrics=metrics))
        except BaseException as exc:
            failed.append(exc)
            stop.set()

    gateway = threading.Thread(target=run, name="gb26875", daemon=True)
    gateway.start()
    while gateway.is_alive():
        gateway.join(0.5)
    if failed:
        raise failed[0]
