"""Simulated grid workers: their plans (delays and verdicts, the same for the same seed), the
field link read out of every channel's message, the simulated grid's roster through the real
import, and the workers answering a real dispatch through the field API served over HTTP,
reached by the real sender."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from dispatch import channels
from dispatch.dispatcher import DispatchConfig, dispatch_incident
from dispatch.model import Channel, ChannelKind, Message
from dispatch.roster_import import import_rosters, parse
from dispatch.rosters import contacts_for
from dispatch.sender import Sender
from dispatch.steps import CAUSES, Verdict
from firewatch.testing import free_port, own_database, serving, wait_until
from settings import Settings
from simulators.grid_roster import CHANNEL, roster_document
from simulators.grid_workers import (
    ACCEPT_S,
    ARRIVE_S,
    ON_MY_WAY_S,
    SCENARIO_FINDINGS,
    VERDICT_S,
    Finding,
    GridWorkers,
    Truth,
    WorkerEvent,
    field_link,
    grid_workers,
    plan_for,
)
from store import dispatches as rows
from store.audit import SYSTEM
from store.database import connect_async
from tests.conftest import Registry
from tests.dispatch.grid import fire, make_grid

FINDINGS = st.sampled_from(sorted(SCENARIO_FINDINGS.values(), key=lambda f: f.cause + f.note))
SPEED = 100.0


@given(st.integers(0, 2**32), st.integers(1, 10**9), st.text(min_size=1, max_size=20), FINDINGS)
def test_a_plan_is_realistic_and_the_same_for_the_same_seed(
    seed: int, dispatch_id: int, person: str, finding: Finding
) -> None:
    plan = plan_for(seed=seed, dispatch_id=dispatch_id, person_id=person, finding=finding)
    assert plan == plan_for(seed=seed, dispatch_id=dispatch_id, person_id=person, finding=finding)
    assert ACCEPT_S[0] <= plan.accept_s <= ACCEPT_S[1]
    assert ON_MY_WAY_S[0] <= plan.on_my_way_s <= ON_MY_WAY_S[1] < ARRIVE_S[0] <= plan.arrive_s
    assert plan.arrive_s <= ARRIVE_S[1] and VERDICT_S[0] <= plan.verdict_s <= VERDICT_S[1]
    # Every verdict and cause is one the field API takes.
    assert plan.cause in CAUSES[Verdict(plan.verdict)]
    if finding.truth is Truth.FIRE:
        assert (plan.verdict, plan.cause) == ("real_fire", finding.cause)
    else:
        assert plan.verdict in ("false_alarm", "no_access")


def test_nuisances_are_mostly_false_alarms_with_their_cause_and_seeds_differ() -> None:
    cooking = SCENARIO_FINDINGS["cooking_smoke"]
    plans = [plan_for(seed=7, dispatch_id=n, person_id="gw", finding=cooking) for n in range(400)]
    false = [p for p in plans if p.verdict == "false_alarm"]
    assert 0.8 < len(false) / len(plans) < 0.97
    assert {p.cause for p in false} == {"cooking_fumes"}
    other = [plan_for(seed=8, dispatch_id=n, person_id="gw", finding=cooking) for n in range(400)]
    assert [p.accept_s for p in other] != [p.accept_s for p in plans]


LINK = "http://127.0.0.1:8000/field/AbCdEfGhIjKlMnOp_-12.42.1790000000.sIg-_xyz"
CONFIGS = [
    (ChannelKind.WEBHOOK, {"url": "http://127.0.0.1:9/hook"}),
    (ChannelKind.WECOM, {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}),
    (
        ChannelKind.WECOM,
        {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "msgtype": "markdown"},
    ),
    (ChannelKind.DINGTALK, {"url": "https://oapi.dingtalk.com/robot/send?access_token=t"}),
    (
        ChannelKind.DINGTALK,
        {"url": "https://oapi.dingtalk.com/robot/send?access_token=t", "msgtype": "text"},
    ),
    (ChannelKind.FEISHU, {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/h"}),
    (
        ChannelKind.FEISHU,
        {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/h", "msg_type": "text"},
    ),
    (
        ChannelKind.SMS,
        {"url": "https://sms.example.cn/send", "body": {"to": "{phone}", "text": "{content}"}},
    ),
]


@pytest.mark.parametrize(("kind", "config"), CONFIGS)
def test_the_link_is_read_out_of_every_channels_message(
    kind: ChannelKind, config: dict[str, Any]
) -> None:
    message = Message(
        title="火警：紫来街12号楼",
        text=f"【派单】请王芳立即前往核查\n现场链接：{LINK}",
        link=LINK,
        mention_phones=("13800138000",),
    )
    request = channels.build(
        Channel(id="c", kind=kind, config=config), message, now=datetime.now(UTC)
    )
    assert field_link(request.body) == tuple(LINK.split("/field/"))
    assert field_link(b'{"text": "no link here"}') is None


def test_the_simulated_grid_imports_and_calls_by_shift(database_url: str, site: str) -> None:
    zones = [f"{site}-z{n}" for n in range(1, 6)]
    document = roster_document(zones, url="http://127.0.0.1:9/phones", seed=7)
    assert roster_document(zones, url="http://127.0.0.1:9/phones", seed=7) == document

    async def go() -> tuple[list[str], list[str]]:
        async with await connect_async(database_url) as conn:
            for zone in zones:
                await conn.execute("INSERT INTO zones (id, name) VALUES (%s, %s)", (zone, zone))
            data = orjson.dumps(document)
            report = await import_rosters(conn, parse(data, "json"), dry_run=False, actor=SYSTEM)
            assert report.ok, report.errors
            assert sorted(report.rosters) == zones
            noon = datetime(2026, 3, 2, 4, tzinfo=UTC)  # 12:00 in Beijing
            night = datetime(2026, 3, 2, 14, tzinfo=UTC)  # 22:00 in Beijing
            day = await contacts_for(conn, zone=zones[4], at=noon)
            late = await contacts_for(conn, zone=zones[4], at=night)
            assert all(c.channels[0].id == CHANNEL for c in day)
            return [c.person_id for c in day], [c.person_id for c in late]

    day, night = asyncio.run(go())
    first, second = (f"gw-{zones[4].lower()}-{n}" for n in (1, 2))
    # The fifth zone has the second supervisor: four zones each.
    assert day == [first, second, "sup-02"] and night == [second, first, "sup-02"]


@contextmanager
def _served(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The API (the field page's API) on a real socket, at the address links point to, and the
    notification sender beside it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"public_url": base, "dispatcher_poll_s": 0.2})
    stop = threading.Event()
    sender = threading.Thread(target=Sender(settings).run, args=(stop,), daemon=True)
    with serving(create_app(settings), port=port):
        sender.start()
        try:
            yield base, settings
        finally:
            stop.set()
            sender.join(timeout=15)


def _dispatch(settings: Settings, incident: int) -> int:
    async def go() -> int:
        async with await connect_async(settings.database_url) as conn, conn.transaction():
            config = await DispatchConfig.of(conn, settings)
            made = await dispatch_incident(
                conn, incident, actor="op", now=datetime.now(UTC), config=config
            )
            assert made is not None
            return made

    return asyncio.run(go())


def _steps(workers: GridWorkers, person: str) -> list[str]:
    return [e.step for e in workers.events if e.person_id == person]


@pytest.fixture()
def own(settings: Settings) -> Iterator[tuple[Settings, psycopg.Connection[Any]]]:
    """A database of its own: the sender sends whatever is queued in its database."""
    with own_database() as url, psycopg.connect(url, autocommit=True) as db:
        yield settings.model_copy(update={"database_url": url}), db


def test_workers_answer_a_real_dispatch_step_by_step(
    own: tuple[Settings, psycopg.Connection[Any]], site: str
) -> None:
    settings, db = own
    fire_here = SCENARIO_FINDINGS["ebike_charging"]
    seen: list[WorkerEvent] = []
    with (
        grid_workers(
            seed=3,
            findings=lambda devices: fire_here if devices else None,
            speed=SPEED,
            on_event=seen.append,
        ) as workers,
        _served(settings) as (_base, settings),
    ):
        grid = make_grid(settings.database_url, db, site, hook=workers.url)
        incident = fire(Registry(db, site), db, site, grid.building)
        dispatch_id = _dispatch(settings, incident)
        wang = grid.workers[0]
        wait_until(lambda: "verdict" in _steps(workers, wang), timeout=30, what="the verdict")
        # Wang has two channels: the message came twice, and was answered once.
        wait_until(lambda: workers.messages == 2, timeout=10, what="both deliveries")
    assert _steps(workers, wang) == ["message", "accept", "on_my_way", "arrived", "verdict"]
    assert seen == workers.events
    plan = plan_for(seed=3, dispatch_id=dispatch_id, person_id=wang, finding=fire_here)
    verdict = workers.events[-1]
    assert (
        (verdict.verdict, verdict.cause)
        == (plan.verdict, plan.cause)
        == (
            "real_fire",
            "ebike_charging",
        )
    )
    assert verdict.incident_id == incident and verdict.dispatch_id == dispatch_id
    found = db.execute(
        "SELECT state, verdict, cause, note, arrived_at - accepted_at FROM dispatches"
        " WHERE id = %s",
        (dispatch_id,),
    ).fetchone()
    assert found is not None
    assert found[:4] == ("done", "real_fire", "ebike_charging", fire_here.note)
    assert found[4].total_seconds() >= plan.arrive_s / SPEED * 0.9  # the delay was waited
    logged = db.execute(
        "SELECT action FROM incident_log WHERE incident_id = %s AND actor = %s ORDER BY id",
        (incident, f"field:{wang}"),
    ).fetchall()
    assert [r[0] for r in logged] == ["accept", "on_my_way", "arrived", "verdict"]
    call = db.execute(
        "SELECT call_119_requested_at FROM incidents WHERE id = %s", (incident,)
    ).fetchone()
    assert call is not None and call[0] is not None, "a real fire asks for the 119 call"


def test_a_worker_whose_dispatch_was_revoked_is_told_and_stops(
    own: tuple[Settings, psycopg.Connection[Any]], site: str
) -> None:
    settings, db = own
    with grid_workers(seed=5, speed=10) as workers, _served(settings) as (_base, settings):
        grid = make_grid(settings.database_url, db, site, hook=workers.url)
        incident = fire(Registry(db, site), db, site, grid.building)
        dispatch_id = _dispatch(settings, incident)
        wang = grid.workers[0]
        wait_until(lambda: "message" in _steps(workers, wang), timeout=30, what="the message")

        async def revoke() -> None:
            async with await connect_async(settings.database_url) as conn, conn.transaction():
                await rows.revoke(conn, dispatch_id, by="op", now=datetime.now(UTC))

        asyncio.run(revoke())
        wait_until(lambda: "refused" in _steps(workers, wang), timeout=30, what="the refusal")
    assert _steps(workers, wang) == ["message", "refused"]
    refused = workers.events[-1]
    assert refused.detail is not None and "403" in refused.detail
    answers = db.execute(
        "SELECT count(*) FROM field_answers WHERE dispatch_id = %s", (dispatch_id,)
    ).fetchone()
    assert answers == (0,)
