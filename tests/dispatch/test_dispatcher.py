"""Dispatch on the real PostgreSQL: an incident sent to its zone's first on call as one queued
delivery per channel, escalation when nobody accepts in time (``now`` injected) to the next
worker and then the supervisor, and automatic dispatch of a confirmed fire exactly once with
two loops running."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import orjson
import psycopg
import pytest

from dispatch import loop
from dispatch.dispatcher import DispatchConfig, auto_dispatch_due, dispatch_incident, escalate_next
from dispatch.field_answers import answer_step
from dispatch.field_links import verify
from dispatch.roster_schemas import PersonWrite, RosterWrite, ShiftWrite
from dispatch.roster_service import put_person, put_roster
from dispatch.sender import Sender
from dispatch.steps import Answer, Step
from firewatch.testing import wait_until
from registry.errors import Conflict, Invalid
from settings import Settings
from store.audit import SYSTEM
from store.database import connect_async
from tests.conftest import Registry
from tests.dispatch.grid import SECRET, Grid, config_for, fire, make_grid

T = TypeVar("T")
T0 = datetime(2026, 3, 1, 4, tzinfo=UTC)  # noon in Beijing


def run(database_url: str, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """``work`` in one committed transaction of its own connection."""

    async def go() -> T:
        async with await connect_async(database_url) as conn, conn.transaction():
            return await work(conn)

    return asyncio.run(go())


def deliveries(db: psycopg.Connection[Any], incident_id: int) -> list[tuple[str, str, str]]:
    """(person, step, channel) of each queued delivery of the incident's dispatches."""
    rows = db.execute(
        "SELECT q.person_id, q.step, q.channel_id, q.key, q.dispatch_id FROM deliveries q"
        " JOIN dispatches d ON d.id = q.dispatch_id WHERE d.incident_id = %s ORDER BY q.id",
        (incident_id,),
    ).fetchall()
    for person, step, channel, key, dispatch_id in rows:
        assert key == f"{dispatch_id}:{person}:{step}:{channel}"
    return [(r[0], r[1], r[2]) for r in rows]


def timeline(db: psycopg.Connection[Any], incident_id: int) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            "SELECT actor, action FROM incident_log WHERE incident_id = %s ORDER BY id",
            (incident_id,),
        ).fetchall()
    ]


@pytest.fixture()
def config(site: str) -> DispatchConfig:
    return config_for(site)


@pytest.fixture()
def grid(database_url: str, db: psycopg.Connection[Any], site: str) -> Grid:
    return make_grid(database_url, db, site)


def test_a_dispatch_queues_one_delivery_per_channel_of_the_first_on_call(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    incident = fire(registry, db, site, grid.building)

    async def dispatch(conn: psycopg.AsyncConnection[Any]) -> int | None:
        return await dispatch_incident(conn, incident, actor="op-li", now=T0, config=config)

    dispatch_id = run(database_url, dispatch)
    wang = grid.workers[0]
    assert deliveries(db, incident) == [(wang, "dispatch", c) for c in grid.channels[wang]]
    assert timeline(db, incident)[-2:] == [("op-li", "dispatch"), ("engine", "notify")]

    # The message: building, address, class, signals, position and a link that opens.
    (message,) = {
        r[0]
        for r in db.execute(
            "SELECT message::text FROM deliveries WHERE dispatch_id = %s", (dispatch_id,)
        ).fetchall()
    }
    message = orjson.loads(message)
    text = message["text"]
    for part in ("紫来街12号楼", "紫来街12号", "火警", "多个设备确认", "烟感报警", "温度超限"):
        assert part in text, part
    assert "北纬31.23041°" in text and "东经121.47372°" in text
    assert message["mention_phones"] == ["13800138000"]
    token = message["link"].removeprefix("http://field.test/field/")
    claim = verify(token, secret=SECRET, now=T0)
    assert claim.dispatch_id == dispatch_id
    assert claim.expires_at == T0 + timedelta(hours=1)
    assert message["link"] in text

    # A second dispatch while this one is open is refused, and queues nothing.
    with pytest.raises(Conflict, match="open dispatch"):
        run(database_url, dispatch)
    assert len(deliveries(db, incident)) == len(grid.channels[wang])


def test_nobody_accepting_escalates_to_the_next_worker_then_the_supervisor(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    incident = fire(registry, db, site, grid.building)
    run(
        database_url,
        lambda conn: dispatch_incident(conn, incident, actor="op", now=T0, config=config),
    )

    def escalate(after_s: float) -> bool:
        at = T0 + timedelta(seconds=after_s)
        return run(database_url, lambda conn: escalate_next(conn, now=at, config=config))

    wang, li = grid.workers
    assert not escalate(59.9)
    assert escalate(60)
    assert not escalate(60)  # li's own minute starts now
    assert not escalate(119)
    assert escalate(120)
    assert escalate(180)  # nobody left: exhausted
    assert not escalate(10_000)
    assert deliveries(db, incident) == [
        *[(wang, "dispatch", c) for c in grid.channels[wang]],
        (li, "escalate", grid.channels[li][0]),
        (grid.supervisor, "escalate", grid.channels[grid.supervisor][0]),
    ]
    assert [a for _, a in timeline(db, incident)][-5:] == [
        "dispatch",
        "notify",
        "escalate",
        "escalate",
        "escalation_exhausted",
    ]
    levels = db.execute(
        "SELECT n.person_id, n.level, n.step FROM dispatch_notices n JOIN dispatches d"
        " ON d.id = n.dispatch_id WHERE d.incident_id = %s ORDER BY n.notified_at",
        (incident,),
    ).fetchall()
    assert levels == [(wang, 0, "dispatch"), (li, 1, "escalate"), (grid.supervisor, 2, "escalate")]


def test_shifts_are_read_on_the_sites_time_zone(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    settings: Settings,
) -> None:
    """FIREWATCH_SITE_TIMEZONE decides who is on shift, for a dispatch and its escalation
    (review finding: the dispatcher read every shift on Beijing's clock)."""
    wang, li = grid.workers
    day_and_night = RosterWrite(
        shifts=[
            ShiftWrite.model_validate(
                {"person": wang, "position": 0, "start": "08:00", "end": "20:00"}
            ),
            ShiftWrite.model_validate(
                {"person": li, "position": 1, "start": "20:00", "end": "08:00"}
            ),
        ]
    )
    run(database_url, lambda conn: put_roster(conn, grid.zone, day_and_night, actor=SYSTEM))
    incident = fire(registry, db, site, grid.building)
    london = settings.model_copy(update={"site_timezone": "Europe/London"})
    config = run(database_url, lambda conn: DispatchConfig.of(conn, london))
    # T0 is noon in Beijing, 04:00 in London: li's night shift there, wang's day in Beijing.
    run(database_url, lambda c: dispatch_incident(c, incident, actor="op", now=T0, config=config))
    later = T0 + timedelta(seconds=config.accept_s)
    assert run(database_url, lambda conn: escalate_next(conn, now=later, config=config))
    assert [p for p, _, _ in deliveries(db, incident)] == [
        li,
        grid.supervisor,  # wang is off shift in London
    ]


def test_people_with_no_channel_are_not_called(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    """Review finding: a notice to nobody, and a minute's wait for nothing."""
    wang, li = grid.workers
    silent = PersonWrite.model_validate({"name": "王芳", "role": "grid_worker", "channels": []})
    run(database_url, lambda conn: put_person(conn, wang, silent, actor=SYSTEM))
    incident = fire(registry, db, site, grid.building)
    with pytest.raises(Invalid, match="no channel"):
        run(
            database_url,
            lambda c: dispatch_incident(
                c, incident, actor="op", now=T0, config=config, person_id=wang
            ),
        )
    run(database_url, lambda c: dispatch_incident(c, incident, actor="op", now=T0, config=config))
    assert [p for p, _, _ in deliveries(db, incident)] == [li]
    notices = db.execute(
        "SELECT n.person_id FROM dispatch_notices n JOIN dispatches d ON d.id = n.dispatch_id"
        " WHERE d.incident_id = %s",
        (incident,),
    ).fetchall()
    assert notices == [(li,)]


@pytest.fixture()
def refusing() -> Iterator[str]:
    """A receiver that answers 404 to everything: no retry can help."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_notice_that_reached_nobody_is_logged_and_escalated_at_once(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    settings: Settings,
    refusing: str,
) -> None:
    """Every delivery of the first worker fails for good: each is a timeline step, and the
    next worker is called at once, not after the accept time (review finding)."""
    grid = make_grid(database_url, db, site, hook=refusing)
    config = config_for(site)
    wang, li = grid.workers
    incident = fire(registry, db, site, grid.building)
    dispatch_id = run(
        database_url,
        lambda c: dispatch_incident(c, incident, actor="op", now=T0, config=config),
    )
    soon = T0 + timedelta(seconds=5)
    assert not run(database_url, lambda conn: escalate_next(conn, now=soon, config=config))
    sending = settings.model_copy(
        update={"dispatcher_workers": 2, "dispatcher_poll_s": 0.05, "dispatcher_max_attempts": 1}
    )
    stop = threading.Event()
    sender = threading.Thread(target=Sender(sending).run, args=(stop,), daemon=True)
    sender.start()
    try:
        wait_until(
            lambda: (
                db.execute(
                    "SELECT count(*) FROM deliveries WHERE dispatch_id = %s AND state = 'failed'",
                    (dispatch_id,),
                ).fetchone()
                == (len(grid.channels[wang]),)
            ),
            timeout=15,
            what="wang's deliveries failed",
        )
    finally:
        stop.set()
        sender.join(timeout=10)
    failed = db.execute(
        "SELECT actor, detail FROM incident_log WHERE incident_id = %s"
        " AND action = 'delivery_failed' ORDER BY id",
        (incident,),
    ).fetchall()
    assert sorted(d["channel"] for _, d in failed) == sorted(grid.channels[wang])
    assert {(a, d["person"], d["error"], d["attempts"]) for a, d in failed} == {
        ("engine", wang, "HTTP 404: ", 1)
    }
    assert run(database_url, lambda conn: escalate_next(conn, now=soon, config=config))
    assert [p for p, _, _ in deliveries(db, incident)][-1] == li
    escalated = db.execute(
        "SELECT detail FROM incident_log WHERE incident_id = %s AND action = 'escalate'",
        (incident,),
    ).fetchone()
    assert escalated is not None
    assert escalated[0]["person"] == li and escalated[0]["undelivered"] is True


def test_an_accepted_dispatch_is_not_escalated(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    incident = fire(registry, db, site, grid.building)
    dispatch_id = run(
        database_url,
        lambda conn: dispatch_incident(conn, incident, actor="op", now=T0, config=config),
    )
    (link,) = db.execute(
        "SELECT message->>'link' FROM deliveries WHERE dispatch_id = %s LIMIT 1", (dispatch_id,)
    ).fetchone() or (None,)
    token = str(link).rsplit("/", 1)[1]
    run(
        database_url,
        lambda conn: answer_step(
            conn, token, Answer(step=Step.ACCEPT), secret=SECRET, now=T0 + timedelta(seconds=30)
        ),
    )
    later = T0 + timedelta(minutes=10)
    assert not run(database_url, lambda conn: escalate_next(conn, now=later, config=config))
    assert len(deliveries(db, incident)) == len(grid.channels[grid.workers[0]])


def test_the_operator_may_name_the_person_or_the_zone(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    incident = fire(registry, db, site, grid.building)
    li = grid.workers[1]
    with pytest.raises(Invalid, match="not on call"):
        run(
            database_url,
            lambda conn: dispatch_incident(
                conn, incident, actor="op", now=T0, config=config, person_id=f"{site}-nobody"
            ),
        )
    db.execute("INSERT INTO zones (id) VALUES (%s)", (f"{site}-empty",))
    with pytest.raises(Conflict, match="nobody is on call"):
        run(
            database_url,
            lambda conn: dispatch_incident(
                conn, incident, actor="op", now=T0, config=config, zone=f"{site}-empty"
            ),
        )
    assert deliveries(db, incident) == []
    run(
        database_url,
        lambda conn: dispatch_incident(
            conn, incident, actor="op", now=T0, config=config, person_id=li
        ),
    )
    assert deliveries(db, incident) == [(li, "dispatch", grid.channels[li][0])]
    # The rest of the order follows: wang, then the supervisor.
    at = T0 + timedelta(seconds=60)
    run(database_url, lambda conn: escalate_next(conn, now=at, config=config))
    assert deliveries(db, incident)[-1][0] == grid.workers[0]


def _auto(db: psycopg.Connection[Any], site: str, *, on: bool) -> None:
    db.execute(
        "INSERT INTO dispatch_settings (site, auto_dispatch_fire, updated_by) VALUES (%s, %s, 't')"
        " ON CONFLICT (site) DO UPDATE SET auto_dispatch_fire = excluded.auto_dispatch_fire",
        (site, on),
    )


def test_automatic_dispatch_only_for_a_confirmed_fire_of_a_site_that_wants_it(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    confirmed = fire(registry, db, site, grid.building)
    db.execute("INSERT INTO buildings (id, zone) VALUES (%s, %s)", (f"{site}-B2", grid.zone))
    single = fire(registry, db, site, f"{site}-B2", confirmed=False)

    async def auto(conn: psycopg.AsyncConnection[Any]) -> list[int]:
        return await auto_dispatch_due(conn, now=T0, config=config)

    async def outside(work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        async with await connect_async(database_url) as conn:
            return await work(conn)

    assert asyncio.run(outside(auto)) == []  # the site's setting is off
    _auto(db, site, on=True)
    (made,) = asyncio.run(outside(auto))
    assert asyncio.run(outside(auto)) == []
    row = db.execute(
        "SELECT incident_id, automatic, created_by FROM dispatches WHERE id = %s", (made,)
    ).fetchone()
    assert row == (confirmed, True, "engine")
    assert deliveries(db, single) == []
    # Once revoked, the automatic dispatch is not made again.
    db.execute("UPDATE dispatches SET state = 'revoked', closed_at = now() WHERE id = %s", (made,))
    assert asyncio.run(outside(auto)) == []


def test_automatic_dispatch_happens_once_with_two_loops_running(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    """Two loops (two processes' worth: each its own connections) wake on the confirmation
    and race for the incident; one dispatch, one notice, each channel once."""
    _auto(db, site, on=True)
    settings = Settings(
        database_url=database_url,
        site=site,
        dispatch_tick_s=0.05,
        field_link_secret=SECRET.decode(),
    )
    stop = threading.Event()
    loops = [
        threading.Thread(target=lambda: asyncio.run(loop.run(settings, stop)), daemon=True)
        for _ in range(2)
    ]
    for t in loops:
        t.start()
    try:
        incident = fire(registry, db, site, grid.building)
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not deliveries(db, incident) and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        threading.Event().wait(0.5)  # many more ticks of both loops
    finally:
        stop.set()
        for t in loops:
            t.join(timeout=10)
    assert not any(t.is_alive() for t in loops)
    count = db.execute(
        "SELECT count(*), bool_and(automatic) FROM dispatches WHERE incident_id = %s", (incident,)
    ).fetchone()
    assert count == (1, True)
    wang = grid.workers[0]
    assert deliveries(db, incident) == [(wang, "dispatch", c) for c in grid.channels[wang]]
    assert [a for _, a in timeline(db, incident)].count("dispatch") == 1


def test_two_concurrent_automatic_rounds_make_one_dispatch(
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    config: DispatchConfig,
) -> None:
    """The race itself, many times: two connections run the round at the same moment."""
    _auto(db, site, on=True)
    made = []
    for i in range(8):
        building = f"{site}-R{i}"
        db.execute("INSERT INTO buildings (id, zone) VALUES (%s, %s)", (building, grid.zone))
        incident = fire(registry, db, site, building)

        async def both() -> list[list[int]]:
            async with (
                await connect_async(database_url) as a,
                await connect_async(database_url) as b,
            ):
                return list(
                    await asyncio.gather(
                        auto_dispatch_due(a, now=T0, config=config),
                        auto_dispatch_due(b, now=T0, config=config),
                    )
                )

        first, second = asyncio.run(both())
        assert len(first) + len(second) == 1
        made.append(incident)
        assert len(deliveries(db, incident)) == len(grid.channels[grid.workers[0]])
    counts = db.execute(
        "SELECT incident_id, count(*) FROM dispatches WHERE incident_id = ANY(%s)"
        " GROUP BY incident_id",
        (made,),
    ).fetchall()
    assert sorted(c for _, c in counts) == [1] * 8
