"""Embedded PostgreSQL and broker for ``firewatch up`` on a machine where neither runs.

What counts, in order: a service set explicitly (``FIREWATCH_DATABASE_URL``,
``FIREWATCH_MQTT_URL``) is always used as it is; a default address where something already
answers is used next; only then is a service started here, listening on the default address,
with its data under ``FIREWATCH_EMBEDDED_DIR`` (``.firewatch/``), kept across runs.

- PostgreSQL: the system's binaries (``initdb``, ``pg_ctl``), a trust-authenticated cluster on
  127.0.0.1 only. PostgreSQL refuses to run as root, so under root the cluster belongs to the
  unprivileged ``postgres`` user (``nobody`` when there is none) and its commands run through
  ``runuser``; the data folder must be reachable by that user, or we stop and say so.
- Broker: the ``mosquitto`` binary with deploy/mosquitto/firewatch.conf (the settings ingest
  relies on) when it is installed, otherwise an in-process ``amqtt`` broker (the ``embedded``
  extra), which keeps sessions in memory only: fine for a demo, not for production.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import glob
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from psycopg.conninfo import conninfo_to_dict

from settings import MqttTarget, Settings

ROOT = Path(__file__).resolve().parent.parent
BROKER_CONF = ROOT / "deploy" / "mosquitto" / "firewatch.conf"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
START_TIMEOUT_S = 30.0
RUNUSER = "/usr/sbin/runuser"


class EmbeddedError(RuntimeError):
    """An embedded service could not start; the message says what to do instead."""


class Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Choice:
    """Which service a process uses, and why, as printed at start-up."""

    name: str
    url: str
    embedded: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def reachable(host: str, port: int, *, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def configured_services(settings: Settings) -> frozenset[str]:
    """The service URLs set explicitly (environment or arguments), not left at their default."""
    return frozenset(settings.model_fields_set & {"database_url", "mqtt_url"})


def _database_address(url: str) -> tuple[str, int, str]:
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "127.0.0.1")
    return host, int(params.get("port") or 5432), str(params.get("user") or "postgres")


# -- PostgreSQL -------------------------------------------------------------------------------
def postgres_bindir() -> Path | None:
    """``initdb`` on PATH, else the newest /usr/lib/postgresql/*/bin (Debian keeps it there)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    found_bins = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    numbered = [b for b in found_bins if b.parent.name.isdigit()]
    return max(numbered, key=lambda b: int(b.parent.name)) if numbered else None


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise EmbeddedError(
        "PostgreSQL refuses to run as root and this machine has neither a 'postgres' nor a "
        "'nobody' user: run firewatch as an ordinary user, or set FIREWATCH_DATABASE_URL"
    )


class EmbeddedPostgres:
    """A cluster in ``folder``, started with ``pg_ctl`` and stopped with it (fast shutdown)."""

    def __init__(self, folder: Path, *, port: int, user: str, bindir: Path) -> None:
        self.folder = folder.resolve()
        self.data = self.folder / "data"
        self.port = port
        self.user = user
        self.bindir = bindir
        self.run_as = _unprivileged_user() if os.geteuid() == 0 else None

    def _cmd(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / tool), *args]
        return [RUNUSER, "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def _run(self, tool: str, *args: str) -> None:
        # S603: the arguments are our own, never input.
        done = subprocess.run(self._cmd(tool, *args), capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise EmbeddedError(
                f"{tool} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}"
                f"; see {self.folder}/postgres.log, or set FIREWATCH_DATABASE_URL to a running "
                "PostgreSQL"
            )

    def _prepare_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.run_as is None:
            return
        entry = pwd.getpwnam(self.run_as)
        for path in (self.folder, *self.folder.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        probe = subprocess.run(  # noqa: S603
            [RUNUSER, "-u", self.run_as, "--", "test", "-w", str(self.folder)], check=False
        )
        if probe.returncode != 0:
            raise EmbeddedError(
                f"running as root, the embedded PostgreSQL runs as {self.run_as!r}, who cannot "
                f"reach {self.folder}: set FIREWATCH_EMBEDDED_DIR to a folder it can reach "
                "(e.g. /var/tmp/firewatch), run firewatch as an ordinary user, or set "
                "FIREWATCH_DATABASE_URL"
            )

    def start(self) -> None:
        self._prepare_folder()
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=on"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_TIMEOUT_S)),
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


# -- brokers ----------------------------------------------------------------------------------
def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if Path(found).exists() else None


class EmbeddedMosquitto:
    """deploy/mosquitto/firewatch.conf plus an anonymous listener on 127.0.0.1 only."""

    def __init__(self, folder: Path, *, port: int, binary: str) -> None:
        self.folder = folder.resolve()
        self.port = port
        self.binary = binary
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            BROKER_CONF.read_text()
            + f"\npersistence_location {self.folder}/\nlog_dest file {self.folder}/mosquitto.log\n"
            + f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
        )
        self._proc = subprocess.Popen([self.binary, "-c", str(conf)])  # noqa: S603
        _wait_listening(self.port, what="mosquitto", alive=self._proc_alive)

    def _proc_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()  # SIGTERM: Mosquitto saves its sessions as it exits
            self._proc.wait(timeout=10)
            self._proc = None


class InProcessBroker:
    """amqtt in a thread of its own; sessions live in memory and end with the process."""

    def __init__(self, *, port: int) -> None:
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failed: BaseException | None = None

    def start(self) -> None:
        try:
            from amqtt.broker import Broker
        except ImportError as exc:
            raise EmbeddedError(
                "no broker: install Mosquitto (apt-get install mosquitto) or the in-process "
                "one (pip install 'firewatch[embedded]'), or set FIREWATCH_MQTT_URL"
            ) from exc
        listener = {"type": "tcp", "bind": f"127.0.0.1:{self.port}", "max_connections": 1000}
        anonymous = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        config: dict[str, Any] = {"listeners": {"default": listener}, "plugins": anonymous}
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            broker = Broker(config)
            try:
                await broker.start()
            except BaseException as exc:
                self._failed = exc
                ready.set()
                return
            ready.set()
            await self._stopping.wait()
            await broker.shutdown()

        self._thread = threading.Thread(
            target=asyncio.run, args=(serve(),), name="amqtt", daemon=True
        )
        self._thread.start()
        ready.wait(START_TIMEOUT_S)
        if self._failed is not None or not ready.is_set():
            raise EmbeddedError(
                f"the in-process broker did not start ({self._failed}); set "
                "FIREWATCH_MQTT_URL to a running broker"
            )

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)


def _wait_listening(port: int, *, what: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if reachable("127.0.0.1", port, timeout=0.2):
            return
        if not alive():
            break
        time.sleep(0.05)
    raise EmbeddedError(
        f"{what} did not listen on 127.0.0.1:{port}; set FIREWATCH_MQTT_URL to a running broker"
    )


# -- choosing ---------------------------------------------------------------------------------
def _choose_database(
    settings: Settings, configured: Set[str], folder: Path
) -> tuple[Choice, Service | None]:
    url = settings.database_url
    host, port, user = _database_address(url)
    if "database_url" in configured:
        return Choice("database", url, False, f"FIREWATCH_DATABASE_URL ({host}:{port})"), None
    if reachable(host, port):
        return Choice("database", url, False, f"PostgreSQL answering at {host}:{port}"), None
    bindir = postgres_bindir()
    if host not in LOCAL_HOSTS or bindir is None:
        raise EmbeddedError(
            f"nothing answers at {host}:{port} and no PostgreSQL is installed here to start one: "
            "install it (apt-get install postgresql) or set FIREWATCH_DATABASE_URL"
        )
    pg = EmbeddedPostgres(folder / "pg", port=port, user=user, bindir=bindir)
    owner = f", as user {pg.run_as!r} (PostgreSQL refuses root)" if pg.run_as else ""
    reason = (
        f"embedded PostgreSQL ({bindir}) in {pg.folder} on 127.0.0.1:{port}{owner}, "
        f"because FIREWATCH_DATABASE_URL is not set and nothing answers there"
    )
    return Choice("database", url, True, reason), pg


def _choose_broker(
    settings: Settings, configured: Set[str], folder: Path
) -> tuple[Choice, Service | None]:
    url = settings.mqtt_url
    target = MqttTarget(url)
    where = f"{target.host}:{target.port}"
    if "mqtt_url" in configured:
        return Choice("broker", url, False, f"FIREWATCH_MQTT_URL ({where})"), None
    if reachable(target.host, target.port):
        return Choice("broker", url, False, f"the broker answering at {where}"), None
    if target.host not in LOCAL_HOSTS:
        raise EmbeddedError(f"nothing answers at {where}: set FIREWATCH_MQTT_URL")
    why = "FIREWATCH_MQTT_URL is not set and nothing answers there"
    binary = mosquitto_binary()
    if binary is not None:
        reason = f"embedded Mosquitto ({binary}, {BROKER_CONF.name}) on {where}, because {why}"
        return Choice("broker", url, True, reason), EmbeddedMosquitto(
            folder / "mosquitto", port=target.port, binary=binary
        )
    reason = (
        f"in-process amqtt broker on {where} (sessions in memory only), because {why} "
        "and Mosquitto is not installed"
    )
    return Choice("broker", url, True, reason), InProcessBroker(port=target.port)


def stop_all(started: list[Service]) -> None:
    """Stops what was started, newest first."""
    for service in reversed(started):
        service.stop()


@contextlib.contextmanager
def services(
    settings: Settings,
    *,
    configured: Set[str],
    report: Callable[[str], None] = print,
    started: list[Service] | None = None,
) -> Iterator[list[Choice]]:
    """Starts what is neither configured nor reachable, yields the choices, stops what it
    started (in reverse order) on leaving. ``started`` shows the caller what runs, for a
    forced exit that never leaves this block."""
    folder = Path(settings.embedded_dir)
    started = [] if started is None else started
    choices: list[Choice] = []
    try:
        for choose in (_choose_database, _choose_broker):
            choice, service = choose(settings, configured, folder)
            if service is not None and not settings.embedded:
                raise EmbeddedError(
                    f"{choice.reason}; but FIREWATCH_EMBEDDED is false: start "
                    f"the {choice.name} or set its URL"
                )
            report(str(choice))
            if service is not None:
                service.start()
                started.append(service)
            choices.append(choice)
        yield choices
    finally:
        stop_all(started)
