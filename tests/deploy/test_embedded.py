"""``firewatch up`` on a machine where nothing answers: it starts PostgreSQL and a broker of its
own, migrates, stores what is published, and stops them again. The settings point at free
ports, so the machine's own services stay out of it."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from contract.kinds import KIND_SPECS, Kind
from contract.topics import Channel, topic_for
from firewatch import embedded
from firewatch.processes import run_up
from firewatch.testing import free_port, wait_until
from settings import Settings
from simulators.publisher import Publisher
from store.database import connect
from tests.ingest.helpers import scalar

pytestmark = pytest.mark.skipif(embedded.postgres_bindir() is None, reason="no PostgreSQL binaries")


@pytest.fixture()
def folder() -> Iterator[Path]:
    """Reachable by the unprivileged user PostgreSQL runs as under root (pytest's tmp is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="fw-embedded-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _nowhere(folder: Path, **extra: object) -> Settings:
    return Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/firewatch",
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
        api_port=free_port(),
        embedded_dir=str(folder),
        site="embedded",
        ingest_client_id="ingest-embedded",
        ingest_batch_wait_ms=20,
        **extra,  # type: ignore[arg-type]
    )


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _count(url: str) -> int:
    with connect(url) as conn:
        return int(scalar(conn, "SELECT count(*) FROM readings"))


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_up_embeds_postgres_and_a_broker_when_nothing_answers(
    folder: Path, broker: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if broker == "amqtt":
        pytest.importorskip("amqtt", reason="the embedded extra is not installed")
        monkeypatch.setattr(embedded, "mosquitto_binary", lambda: None)
    elif embedded.mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    settings = _nowhere(folder)
    db_port = int(settings.database_url.split(":")[-1].split("/")[0])
    mqtt = settings.mqtt
    stop = threading.Event()
    kwargs = {"configured": frozenset(), "stop": stop}
    up = threading.Thread(target=run_up, args=(settings,), kwargs=kwargs, daemon=True)
    up.start()
    try:
        wait_until(lambda: _ready(settings.api_port), timeout=90, what="firewatch up to be ready")
        out = capsys.readouterr().out
        assert "database: embedded PostgreSQL" in out
        chosen = "broker: embedded Mosquitto" if broker == "mosquitto" else "in-process amqtt"
        assert chosen in out
        with connect(settings.database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO devices (id, kind, site, heartbeat_s, building)"
                " VALUES ('SD-1', 'smoke', 'embedded', %s, 'B-1')",
                (KIND_SPECS[Kind.SMOKE].heartbeat_s,),
            )
        body = {"ts": datetime.now(UTC).isoformat(), "seq": 1, "values": {"temperature_c": 24.0}}
        with Publisher(mqtt, client_id="pub-embedded") as publisher:
            publisher.publish(topic_for("embedded", "SD-1", Channel.READING), orjson.dumps(body))
        wait_until(lambda: _count(settings.database_url) == 1, timeout=20, what="the reading")
    finally:
        stop.set()
        up.join(timeout=60)
    assert not up.is_alive(), "firewatch up did not stop"
    assert not embedded.reachable("127.0.0.1", db_port), "embedded PostgreSQL still runs"
    assert not embedded.reachable("127.0.0.1", mqtt.port), "embedded broker still runs"


def test_configured_services_are_used_even_when_they_do_not_answer(folder: Path) -> None:
    settings = _nowhere(folder)
    with embedded.services(
        settings, configured={"database_url", "mqtt_url"}, report=lambda _line: None
    ) as choices:
        assert [(c.name, c.embedded) for c in choices] == [("database", False), ("broker", False)]
    assert not any(folder.iterdir()), "nothing embedded may have started"


def test_a_default_address_that_answers_is_used_as_it_is(folder: Path) -> None:
    with socket.socket() as db, socket.socket() as broker:
        for sock in (db, broker):
            sock.bind(("127.0.0.1", 0))
            sock.listen()
        settings = Settings(
            database_url=f"postgresql://postgres@127.0.0.1:{db.getsockname()[1]}/firewatch",
            mqtt_url=f"mqtt://127.0.0.1:{broker.getsockname()[1]}",
            embedded_dir=str(folder),
        )
        lines: list[str] = []
        with embedded.services(settings, configured=set(), report=lines.append) as choices:
            assert not any(c.embedded for c in choices)
    assert lines[0].startswith("database: PostgreSQL answering at 127.0.0.1:")
    assert lines[1].startswith("broker: the broker answering at 127.0.0.1:")


def test_embedding_off_says_what_to_start(folder: Path) -> None:
    with (
        pytest.raises(embedded.EmbeddedError, match="FIREWATCH_EMBEDDED is false"),
        embedded.services(_nowhere(folder, embedded=False), configured=set(), report=print),
    ):
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to an unprivileged user")
def test_as_root_an_unreachable_folder_is_refused_with_the_fix(folder: Path) -> None:
    hidden = folder / "private"
    hidden.mkdir(mode=0o700)
    settings = _nowhere(hidden / "fw")
    with (
        pytest.raises(embedded.EmbeddedError, match="FIREWATCH_EMBEDDED_DIR"),
        embedded.services(settings, configured={"mqtt_url"}, report=print),
    ):
        pass
