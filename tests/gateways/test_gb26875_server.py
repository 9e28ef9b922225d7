"""The GB/T 26875.3 server beside a real ingest and PostgreSQL, over real sockets, with packets
the tests encode themselves: confirms only after the commit, repeats stored once, checking
errors denied and dead-lettered, unknown addresses pending, the limits, and fuzzing that never
disturbs a valid connection alongside."""

from __future__ import annotations

import contextlib
import gc
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.kinds import KIND_SPECS, Kind
from firewatch.testing import free_port, open_sockets, wait_until
from gateways.gb26875 import running
from gateways.gb26875.server import Gb26875Metrics
from ingest.parts import IngestParts
from ingest.service import IngestService
from settings import Settings
from tests.gateways import gb26875_wire as wire

CONFIRM, DENY, CONTROL = 3, 6, 1


@dataclass
class Rig:
    port: int
    metrics: Gb26875Metrics
    commits: threading.Event  # cleared: ingest's commits wait (a slow database)
    site: str
    transmitter: str  # 12 hex digits, mapped to a registered transmitter device
    db: psycopg.Connection[Any]

    def client(self) -> wire.Client:
        return wire.Client(self.port)

    @property
    def source(self) -> bytes:
        return wire.address(self.transmitter)

    def register(self, device_id: str, kind: Kind, **address: int) -> str:
        config = {"gb26875": {"transmitter": self.transmitter, **address}}
        self.db.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building, config)"
            " VALUES (%s, %s, %s, %s, 'B-001', %s::jsonb)",
            (
                device_id,
                kind.value,
                self.site,
                KIND_SPECS[kind].heartbeat_s,
                orjson.dumps(config).decode(),
            ),
        )
        return device_id

    def count(self, sql: str, *args: object) -> int:
        row = self.db.execute(sql, args).fetchone()
        assert row is not None
        return int(row[0])


@contextlib.contextmanager
def _rig(settings: Settings, db: psycopg.Connection[Any], **limits: float) -> Iterator[Rig]:
    commits = threading.Event()
    commits.set()

    def slow(_batch: object) -> None:
        commits.wait(30)

    port = free_port()
    config = settings.model_copy(
        update={
            "gb26875_port": port,
            "gb26875_host": "127.0.0.1",
            "gateway_commit_timeout_s": 3.0,
            **{f"gb26875_{k}": v for k, v in limits.items()},
        }
    )
    source = running.local_source()
    parts = IngestParts.from_settings(config, local_gateways=[source], before_commit=slow)
    service = IngestService(config, parts=parts)
    stop = threading.Event()
    ingest = threading.Thread(target=service.run, args=(stop,), daemon=True)
    ingest.start()
    wait_until(lambda: service.ready, timeout=10, what="ingest to start")
    metrics = Gb26875Metrics()
    listening = threading.Event()
    gateway = running.start_beside_ingest(
        config, source, stop, metrics=metrics, ready=lambda _port: listening.set()
    )
    assert listening.wait(10), "the GB/T 26875.3 server did not start"
    try:
        yield Rig(port, metrics, commits, settings.site, secrets.token_hex(6), db)
    finally:
        commits.set()
        stop.set()
        gateway.join(10)
        ingest.join(10)
        assert not gateway.is_alive() and not ingest.is_alive()
        # Ingest's warm-up cannot yet take an open alert of a panel or transmitter (alerts/
        # engine.py remember_open: STUCK_METRIC has no entry for them; reported to the lead):
        # leave none behind for the next test's ingest.
        db.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = now(), cause = 'test'"
            " WHERE site = %s AND state <> 'resolved'",
            (settings.site,),
        )


@pytest.fixture()
def rig(settings: Settings, db: psycopg.Connection[Any]) -> Iterator[Rig]:
    with _rig(settings, db) as made:
        yield made


@pytest.fixture()
def make_rig(
    settings: Settings, db: psycopg.Connection[Any]
) -> Callable[..., contextlib.AbstractContextManager[Rig]]:
    return lambda **limits: _rig(settings, db, **limits)


AT = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _labels_of_now() -> None:
    """Packets are labelled 30 s before their test runs, not before the module was collected:
    in a long session the server's 60 s clock check would answer a clock synchronisation."""
    global AT  # noqa: PLW0603 - read by the packet builders of this module
    AT = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


def _fire(rig: Rig, *, serial: int, zone: int = 10, position: int = 2, state: int = 3) -> bytes:
    obj = wire.component(system=1, zone=zone, position=position, state=state, at=AT, text="烟感")
    return wire.frame(serial=serial, command=2, source=rig.source, adu=wire.unit(2, obj), at=AT)


def _events(rig: Rig, device: str, event_type: str) -> int:
    return rig.count(
        "SELECT count(*) FROM events WHERE device_id = %s AND type = %s", device, event_type
    )


def test_a_fire_alarm_is_confirmed_once_committed_and_raises_a_fire_alert(rig: Rig) -> None:
    panel = rig.register(f"{rig.site}-P1", Kind.PANEL, system=1, component=wire.component_id(10, 2))
    client = rig.client()
    client.send(_fire(rig, serial=258))
    answer = client.answer()
    # Committed before the confirm was written: no waiting here.
    assert _events(rig, panel, "alarm") == 1
    assert (answer.command, answer.serial) == (CONFIRM, 258)
    assert (answer.source, answer.destination) == (wire.CENTRE, rig.source)
    assert (
        rig.count("SELECT count(*) FROM alerts WHERE device_id = %s AND rule = 'panel_fire'", panel)
        == 1
    )
    row = rig.db.execute(
        "SELECT detail FROM events WHERE device_id = %s AND type = 'alarm'", (panel,)
    ).fetchone()
    assert row is not None and row[0]["description"] == "烟感" and row[0]["component_type"] == 40
    assert rig.metrics.confirmed == 1


def test_no_confirm_while_the_commit_waits_then_it_comes(rig: Rig) -> None:
    panel = rig.register(f"{rig.site}-P1", Kind.PANEL, system=1, component=wire.component_id(10, 2))
    client = rig.client()
    rig.commits.clear()  # the database is slow
    client.send(_fire(rig, serial=7))
    with pytest.raises(TimeoutError):
        client.answer(timeout=1.0)
    assert _events(rig, panel, "alarm") == 0
    rig.commits.set()
    answer = client.answer(timeout=5)
    assert (answer.command, answer.serial) == (CONFIRM, 7)
    assert _events(rig, panel, "alarm") == 1


def test_not_committed_in_time_is_not_confirmed_and_the_repeat_is_stored_once(rig: Rig) -> None:
    panel = rig.register(f"{rig.site}-P1", Kind.PANEL, system=1, component=wire.component_id(10, 2))
    client = rig.client()
    rig.commits.clear()
    client.send(_fire(rig, serial=1))
    with pytest.raises(TimeoutError):
        client.answer(timeout=4.0)  # the gateway gave up after 3 s: nothing said
    assert rig.metrics.not_carried == 1
    rig.commits.set()
    client.send(_fire(rig, serial=1))  # the device sends it again
    assert client.answer().serial == 1
    # And again on a new connection, under another serial number: still the same report.
    other = rig.client()
    other.send(_fire(rig, serial=900))
    assert other.answer().serial == 900
    assert _events(rig, panel, "alarm") == 1


def _state(rig: Rig, *, serial: int, state: int, after_s: float, zero_label: bool = False) -> bytes:
    at = AT + timedelta(seconds=after_s)
    obj = wire.component(system=1, zone=10, position=2, state=state, at=at, text="烟感")
    if zero_label:  # a clock never set: the object's time label is all zeros
        obj = obj[:-6] + bytes(6)
    return wire.frame(serial=serial, command=2, source=rig.source, adu=wire.unit(2, obj), at=at)


def test_a_shield_committed_after_its_timeout_is_lifted_by_the_next_state(rig: Rig) -> None:
    """A shield's hand-over misses the commit timeout but ingest commits it later; the device
    gives up on that packet and sends its next state, the shield lifted. The lifting must be
    stored, or the component's next fire would stay shielded."""
    panel = rig.register(f"{rig.site}-P1", Kind.PANEL, system=1, component=wire.component_id(10, 2))
    client = rig.client()
    client.send(_state(rig, serial=1, state=0x0001, after_s=0))
    assert client.answer().serial == 1
    lifted = _events(rig, panel, "disabled_cleared")  # a first report says every flag
    rig.commits.clear()
    client.send(_state(rig, serial=2, state=0x0009, after_s=1))  # shielded
    with pytest.raises(TimeoutError):
        client.answer(timeout=4.0)
    rig.commits.set()
    wait_until(lambda: _events(rig, panel, "disabled") == 1, timeout=5, what="the late shield")
    client.send(_state(rig, serial=3, state=0x0001, after_s=2))
    assert client.answer().serial == 3
    assert _events(rig, panel, "disabled_cleared") == lifted + 1
    client.send(_state(rig, serial=4, state=0x0003, after_s=3))  # a fire
    assert client.answer().serial == 4
    row = rig.db.execute(
        "SELECT state, suppressed_reason FROM alerts WHERE device_id = %s AND rule = 'panel_fire'",
        (panel,),
    ).fetchone()
    assert row == ("active_unack", None)


def test_each_fire_of_a_device_whose_labels_are_zeros_is_its_own(rig: Rig) -> None:
    """A transmitter whose clock was never set labels every report with zeros: two fires of
    one component say the same state at the same (no) time. The second, after the first was
    resolved, is a fire of its own, re-stamped and alerted, not the first one's copy."""
    panel = rig.register(f"{rig.site}-P1", Kind.PANEL, system=1, component=wire.component_id(10, 2))
    client = rig.client()
    client.send(_state(rig, serial=1, state=0x0003, after_s=0, zero_label=True))
    assert client.answer().serial == 1
    client.send(_state(rig, serial=1, state=0x0003, after_s=0, zero_label=True))  # a retry
    assert client.answer().serial == 1
    assert _events(rig, panel, "alarm") == 1
    rig.db.execute(
        "UPDATE alerts SET state = 'resolved', resolved_at = now(), cause = 'false_alarm'"
        " WHERE device_id = %s",
        (panel,),
    )
    client.send(_state(rig, serial=2, state=0x0001, after_s=1, zero_label=True))
    assert client.answer().serial == 2
    client.send(_state(rig, serial=3, state=0x0003, after_s=2, zero_label=True))
    assert client.answer().serial == 3
    assert _events(rig, panel, "alarm") == 2
    assert (
        rig.count(
            "SELECT count(*) FROM alerts WHERE device_id = %s AND rule = 'panel_fire'"
            " AND state = 'active_unack'",
            panel,
        )
        == 1
    )


def test_bad_checksum_end_mark_and_length_are_denied_and_dead_lettered(rig: Rig) -> None:
    client = rig.client()
    peer = f"127.0.0.1:{client.sock.getsockname()[1]}"
    bad_sum = bytearray(_fire(rig, serial=31))
    bad_sum[-3] ^= 0xFF
    bad_end = bytearray(_fire(rig, serial=32))
    bad_end[-2:] = b"$$"
    too_long = wire.frame(serial=33, command=2, source=rig.source, adu=b"\x00" * 1100, at=AT)
    for raw, serial in ((bad_sum, 31), (bad_end, 32), (too_long, 33)):
        client.send(bytes(raw))
        answer = client.answer()
        assert (answer.command, answer.serial) == (DENY, serial)
    client.send(_fire(rig, serial=34))  # the connection still works
    assert client.answer().command == CONFIRM
    rows = rig.db.execute(
        "SELECT detail, payload FROM dead_letters WHERE topic = %s AND reason = 'bad_frame'"
        " ORDER BY id",
        (f"gw/gb26875/{rig.site}/{peer}",),
    ).fetchall()
    details = [r[0] for r in rows]
    assert any("checksum" in d for d in details)
    assert any("end mark" in d for d in details)
    assert any("exceeds 1024" in d for d in details)
    assert bytes(rows[0][1]) == bytes(bad_sum)
    assert rig.metrics.denied == 3


def test_a_data_unit_that_does_not_fit_is_denied_and_junk_is_dead_lettered(rig: Rig) -> None:
    client = rig.client()
    client.send(b"GET / HTTP/1.1\r\n\r\n")
    client.send(wire.frame(serial=5, command=2, source=rig.source, adu=b"\x02\x01\x00", at=AT))
    answer = client.answer()
    assert (answer.command, answer.serial) == (DENY, 5)
    wait_until(
        lambda: (
            rig.count(
                "SELECT count(*) FROM dead_letters WHERE topic LIKE %s AND reason = 'bad_frame'",
                f"gw/gb26875/{rig.site}/%",
            )
            == 2
        ),
        timeout=10,
        what="the junk and the bad data unit dead-lettered",
    )
    assert rig.metrics.refused == {"junk": 1, "data_unit": 1}


def test_an_unknown_address_is_confirmed_and_pending(rig: Rig) -> None:
    client = rig.client()
    client.send(_fire(rig, serial=3, zone=4, position=5))
    assert client.answer().command == CONFIRM
    unknown = f"gb26875-{rig.transmitter}-1-{wire.component_id(4, 5)}"
    assert (
        rig.count(
            "SELECT count(*) FROM dead_letters WHERE device_id = %s AND reason = 'unknown_device'",
            unknown,
        )
        >= 1
    )
    assert rig.count("SELECT count(*) FROM pending_devices WHERE device_id = %s", unknown) == 1
    # The transmitter itself is unknown too, and heard: pending under its own id.
    assert (
        rig.count(
            "SELECT count(*) FROM pending_devices WHERE device_id = %s",
            f"gb26875-{rig.transmitter}",
        )
        == 1
    )


def test_a_registered_transmitter_is_heard_and_reports_its_own_state(rig: Rig) -> None:
    device = rig.register(f"{rig.site}-T", Kind.TRANSMITTER)
    client = rig.client()
    client.send(wire.frame(serial=1, command=2, source=rig.source, at=AT))  # a heartbeat
    assert client.answer().command == CONFIRM
    assert rig.count("SELECT count(*) FROM heartbeats WHERE device_id = %s", device) == 1
    state = wire.unit(21, bytes([0x05]) + wire.time_label(AT))  # a fault of its own
    client.send(wire.frame(serial=2, command=2, source=rig.source, adu=state, at=AT))
    assert client.answer().command == CONFIRM
    assert _events(rig, device, "fault") == 1
    assert (
        rig.count("SELECT count(*) FROM alerts WHERE device_id = %s AND rule = 'fault'", device)
        == 1
    )


def test_a_device_clock_far_off_is_synchronised(rig: Rig) -> None:
    client = rig.client()
    late = datetime.now(UTC) - timedelta(hours=3)
    client.send(wire.frame(serial=1, command=2, source=rig.source, at=late))
    answers = [client.answer(), client.answer()]
    sync = next(a for a in answers if a.command == CONTROL)
    assert sync.adu[:2] == bytes([90, 1]) and sync.destination == rig.source
    s, mi, h, d, mo, y = sync.adu[2:8]
    told = datetime(2000 + y, mo, d, h, mi, s, tzinfo=wire.TZ)
    assert abs((told - datetime.now(UTC)).total_seconds()) < 5
    assert any(a.command == CONFIRM for a in answers)


def test_the_centres_commands_from_a_device_are_denied(rig: Rig) -> None:
    client = rig.client()
    client.send(wire.frame(serial=8, command=4, source=rig.source, adu=b"\x51\x01\x00", at=AT))
    assert (client.answer().command, rig.metrics.refused["command"]) == (DENY, 1)


def test_idle_connections_are_closed(make_rig: Callable[..., Any]) -> None:
    with make_rig(idle_timeout_s=0.5) as rig:
        client = rig.client()
        assert client.closed_by_peer(timeout=5)


def test_stopping_closes_the_connections_still_open(make_rig: Callable[..., Any]) -> None:
    """Each peer's connection is closed by the server's stop, not left to the process's end:
    the server side of every connection is gone once it has stopped."""
    gc.collect()
    before = open_sockets()
    with make_rig() as rig:
        clients = [rig.client() for _ in range(3)]
        wait_until(lambda: rig.metrics.connections == 3, timeout=5, what="three connections")
    assert all(client.closed_by_peer(timeout=5) for client in clients)
    for client in clients:
        client.close()
    gc.collect()  # the stopped ingest's MQTT client, a reference cycle
    assert open_sockets() == before


def test_connections_over_the_limit_are_refused(make_rig: Callable[..., Any]) -> None:
    with make_rig(max_connections=2) as rig:
        first, second = rig.client(), rig.client()
        for n, client in enumerate((first, second)):
            client.send(wire.frame(serial=n, command=2, source=rig.source, at=AT))
            assert client.answer().command == CONFIRM
        third = rig.client()
        assert third.closed_by_peer(timeout=5)
        assert rig.metrics.connections_refused == 1
        first.send(wire.frame(serial=9, command=2, source=rig.source, at=AT))
        assert first.answer().command == CONFIRM


def test_a_fast_peer_is_slowed_to_the_frame_rate(make_rig: Callable[..., Any]) -> None:
    with make_rig(frames_per_s=5) as rig:
        client = rig.client()
        began = time.monotonic()
        client.send(
            b"".join(wire.frame(serial=n, command=2, source=rig.source, at=AT) for n in range(15))
        )
        assert sorted(client.answer().serial for _ in range(15)) == list(range(15))
        assert time.monotonic() - began >= 1.8  # 5 at once, then 10 at 5 a second


def test_frames_over_the_size_limit_are_denied(make_rig: Callable[..., Any]) -> None:
    with make_rig(max_frame_bytes=100) as rig:
        client = rig.client()
        two = wire.unit(
            2,
            wire.component(system=1, zone=1, position=1, state=1, at=AT),
            wire.component(system=1, zone=1, position=2, state=1, at=AT),
        )
        client.send(wire.frame(serial=4, command=2, source=rig.source, adu=two, at=AT))
        assert (client.answer().command, rig.metrics.refused["length"]) == (DENY, 1)


def _mutated(data: st.DataObject) -> bytes:
    obj = wire.component(system=1, zone=1, position=1, state=3, at=AT)
    good = wire.frame(serial=1, command=2, source=bytes(6), adu=wire.unit(2, obj), at=AT)
    kind = data.draw(st.sampled_from(["random", "flip", "adu", "cut"]))
    if kind == "random":
        return data.draw(st.binary(min_size=1, max_size=400))
    if kind == "flip":
        at = data.draw(st.integers(0, len(good) - 1))
        return good[:at] + bytes([good[at] ^ data.draw(st.integers(1, 255))]) + good[at + 1 :]
    if kind == "adu":
        adu = data.draw(st.binary(max_size=120))
        return wire.frame(serial=2, command=2, source=bytes(6), adu=adu, at=AT)
    return good[: data.draw(st.integers(1, len(good) - 1))]


def test_fuzzed_connections_never_disturb_a_valid_one(rig: Rig) -> None:
    valid = rig.client()
    serials = iter(range(1, 10_000))

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        raw = _mutated(data)
        hostile = rig.client()
        peer = f"127.0.0.1:{hostile.sock.getsockname()[1]}"
        hostile.send(raw)
        hostile.sock.shutdown(socket.SHUT_WR)
        hostile.closed_by_peer(timeout=10)  # answers (a deny, a confirm) then the close
        hostile.close()
        serial = next(serials)
        valid.send(wire.frame(serial=serial, command=2, source=rig.source, at=AT))
        assert (valid.answer().serial, rig.metrics.connections) == (serial, 1)
        wait_until(
            lambda: (
                rig.metrics.received > 0
                and rig.count(
                    "SELECT count(*) FROM dead_letters WHERE topic = %s",
                    f"gw/gb26875/{rig.site}/{peer}",
                )
                + rig.metrics.confirmed
                > 0
            ),
            timeout=5,
            what="the fuzzed bytes refused with a reason (or confirmed)",
        )

    fuzz()
    assert sum(rig.metrics.refused.values()) > 0


def test_packets_sent_together_are_carried_in_order_and_all_confirmed(rig: Rig) -> None:
    panel = rig.register(f"{rig.site}-P1", Kind.PANEL, system=1, component=wire.component_id(10, 2))
    later = AT + timedelta(seconds=1)
    normal = wire.component(system=1, zone=10, position=2, state=0x0001, at=later)
    back = wire.frame(serial=2, command=2, source=rig.source, adu=wire.unit(2, normal), at=later)
    client = rig.client()
    client.send(_fire(rig, serial=1) + back)  # the fire, and its end, in one write
    assert {client.answer().serial, client.answer().serial} == {1, 2}
    rows = rig.db.execute(
        "SELECT type FROM events WHERE device_id = %s AND type LIKE 'alarm%%' ORDER BY ts",
        (panel,),
    ).fetchall()
    assert [r[0] for r in rows] == ["alarm", "alarm_cleared"]


def test_connections_from_outside_the_allowed_networks_are_closed(
    make_rig: Callable[..., Any],
) -> None:
    with make_rig(allow="10.9.9.0/24, 192.0.2.7") as rig:
        assert rig.client().closed_by_peer(timeout=5)
        assert rig.metrics.connections_refused == 1
    with make_rig(allow="127.0.0.0/8") as rig:
        client = rig.client()
        client.send(wire.frame(serial=1, command=2, source=rig.source, at=AT))
        assert client.answer().command == CONFIRM


def test_a_connection_speaks_for_one_transmitter(rig: Rig) -> None:
    client = rig.client()
    client.send(wire.frame(serial=1, command=2, source=rig.source, at=AT))
    assert client.answer().command == CONFIRM
    other = wire.address("0000000000ee")
    client.send(wire.frame(serial=2, command=2, source=other, at=AT))
    denied = client.answer()
    assert (denied.command, denied.serial, denied.destination) == (DENY, 2, other)
    assert rig.metrics.refused["source"] == 1
    client.send(wire.frame(serial=3, command=2, source=rig.source, at=AT))
    assert client.answer().command == CONFIRM
