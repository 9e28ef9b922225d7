"""The dashboard's pure modules, run in the real browser with no server: the files are
handed to Chromium straight from the package folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, sync_playwright

from api.routers.dashboard import DASHBOARD_DIR
from tests.dashboard.chromium import CHROMIUM, needs_chromium

pytestmark = needs_chromium
ORIGIN = "http://dashboard.test"  # never resolved: every request is answered below


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path.startswith("/static/"):
        route.fulfill(path=DASHBOARD_DIR / path.removeprefix("/static/"))
    else:
        route.fulfill(body="<!doctype html><title>modules</title>", content_type="text/html")


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.route(f"{ORIGIN}/**", _serve)
        page.goto(f"{ORIGIN}/")
        try:
            yield page
        finally:
            browser.close()


STREAM = (
    "retry: 2000\n\n: keepalive\n\n"
    'id: 7-1\r\nevent: alert\r\ndata: {"change": "raise"}\r\n\r\n'
    "id: 7-2\revent: alert\rdata: one\rdata: two\r\r"
    "id: 7-3\nevent: reset\ndata: {}\n\n"
    "id: 7-4\n\n"  # an id with no data moves Last-Event-ID but dispatches nothing
)
EXPECTED = {
    "got": [
        {"event": "alert", "data": '{"change": "raise"}', "id": "7-1"},
        {"event": "alert", "data": "one\ntwo", "id": "7-2"},
        {"event": "reset", "data": "{}", "id": "7-3"},
    ],
    "comments": ["keepalive"],
    "last": "7-4",
    "retry": 2000,
}


def test_the_event_stream_parser_reads_events_cut_anywhere(page: Page) -> None:
    """Network chunks end anywhere, also between the \\r and \\n of one line break."""
    outcomes: list[Any] = page.evaluate(
        """async (text) => {
            const { SseParser } = await import("/static/js/sse.js");
            const outcomes = new Set();
            for (let size = 1; size <= text.length; size++) {
                const got = [], comments = [];
                const parser = new SseParser((m) => got.push(m), (c) => comments.push(c));
                for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size));
                const last = parser.lastEventId;
                outcomes.add(JSON.stringify({ got, comments, last, retry: parser.retry }));
            }
            return [...outcomes].map((o) => JSON.parse(o));
        }""",
        STREAM,
    )
    assert outcomes == [EXPECTED]


def test_a_stream_event_and_a_list_reload_keep_the_newer_incident(page: Page) -> None:
    """Also: the list puts a fire nobody acknowledged above everything else, and the plan
    colours a building by its open incident."""
    result = page.evaluate(
        """async () => {
            const s = await import("/static/js/state.js");
            const at = (second) => `2026-01-01T00:00:0${second}Z`;
            const incident = (id, state, second, cls) => ({
                id, state, class: cls, building: `B${id}`, updated_at: at(second),
                opened_at: at(id), signals: [],
            });
            const before = performance.now();
            s.upsertIncident(incident(1, "active_ack", 9, "fire"));  // from the stream
            // A list read before that change, with an incident the stream has not brought.
            s.replaceOpenIncidents(
                [
                    incident(1, "active_unack", 5, "fire"),
                    incident(2, "active_unack", 6, "prealarm"),
                ],
                before,
            );
            const result = {
                states: s.sortedIncidents().map((i) => [i.id, i.state]),
                stale: s.upsertIncident(incident(2, "active_unack", 1, "prealarm")),
                unackedFire: s.unackedFire(),
                worst: Object.fromEntries(s.liveClasses().byBuilding),
            };
            s.upsertIncident(incident(0, "active_unack", 9, "fire"));  // the oldest, unacknowledged
            const order = s.sortedIncidents().map((i) => i.id);
            return { ...result, order, after: s.unackedFire() };
        }"""
    )
    assert result == {
        "states": [[2, "active_unack"], [1, "active_ack"]],
        "stale": False,
        "unackedFire": False,
        "worst": {"B1": "fire", "B2": "prealarm"},
        "order": [0, 2, 1],  # a fire waiting for acknowledgement first, then newest first
        "after": True,
    }


def test_alerts_in_an_incident_are_its_signals_and_the_rest_the_technicians(page: Page) -> None:
    result = page.evaluate(
        """async () => {
            const s = await import("/static/js/state.js");
            s.forgetAll();
            const t = "2026-01-01T00:00:01Z";
            const alert = (id, cls, incident_id, rule) => ({
                id, class: cls, incident_id, rule, state: "active_unack", device_id: `D${id}`,
                building: "B7", raised_at: t, updated_at: t, last_at: t, peak: null, count: 1,
            });
            s.upsertIncident({
                id: 70, class: "prealarm", state: "active_unack", building: "B7", updated_at: t,
                opened_at: t, last_at: t, counts: { signals: 1, open_signals: 1, devices: 1 },
                signals: [{ alert_id: 1, device_id: "D1", rule: "heat_anomaly", class: "prealarm",
                            state: "active_unack", last_at: t, count: 1 }],
            });
            [alert(1, "prealarm", 70, "heat_anomaly"), alert(2, "trouble", null, "offline")]
                .forEach(s.upsertAlert);
            const last_at = "2026-01-01T00:00:05Z";
            const moved = { ...alert(1, "fire", 70, "heat_fixed"), state: "resolved", last_at };
            const patched = s.patchSignal(moved);
            const strangers = s.patchSignal(alert(3, "fire", 71, "smoke_alarm"));
            const i = s.state.incidents.get(70);
            return {
                technicians: s.technicianAlerts().map((a) => a.id),
                byBuilding: Object.fromEntries(s.liveClasses().byBuilding),
                patched, strangers,
                signal: [i.signals[0].rule, i.signals[0].class, i.signals[0].state],
                open: i.counts.open_signals,
                last: i.last_at,
            };
        }"""
    )
    assert result == {
        "technicians": [2],
        "byBuilding": {"B7": "prealarm"},  # the incident's class, with its trouble neighbour
        "patched": True,
        "strangers": False,
        "signal": ["heat_fixed", "fire", "resolved"],
        "open": 0,
        "last": "2026-01-01T00:00:05Z",
    }


# An incident's versions as the stream brings them, and whether each calls the operator.
VERSIONS = [
    ({"state": "active_unack", "class": "prealarm"}, "prealarm"),  # opens
    ({"state": "active_unack", "class": "prealarm", "signals": 2}, None),  # a signal joins
    ({"state": "active_ack", "class": "prealarm", "signals": 2}, None),  # acknowledged
    ({"state": "active_ack", "class": "prealarm", "signals": 3}, None),  # joins, carried ack
    ({"state": "active_unack", "class": "fire", "signals": 4}, "fire"),  # rises to fire
    ({"state": "active_unack", "class": "fire", "signals": 5}, None),  # another fire signal
    ({"state": "active_ack", "class": "fire", "signals": 5}, None),
    ({"state": "active_unack", "class": "fire", "signals": 6, "confirmed": True}, "fire"),
    ({"state": "active_unack", "class": "fire", "signals": 6, "confirmed": True}, None),
    ({"state": "returned_unack", "class": "fire", "signals": 6, "confirmed": True}, None),
    ({"state": "active_unack", "class": "fire", "signals": 6, "confirmed": True}, "fire"),
    ({"state": "active_ack", "class": "fire", "signals": 6, "confirmed": True}, None),
    ({"state": "resolved", "class": "fire", "signals": 6, "confirmed": True}, None),
]


def test_an_incident_calls_the_operator_per_incident_not_per_signal(page: Page) -> None:
    calls = page.evaluate(
        """async (versions) => {
            const { callOf } = await import("/static/js/calls.js");
            let before;
            return versions.map((v) => {
                const after = { confirmed: false, ...v };
                const call = callOf(before, after);
                before = after;
                return call;
            });
        }""",
        [v for v, _ in VERSIONS],
    )
    assert calls == [call for _, call in VERSIONS]
