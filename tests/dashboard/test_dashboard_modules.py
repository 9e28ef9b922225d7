"""The dashboard's pure modules, run in the real browser with no server: the files are
handed to Chromium straight from the package folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, sync_playwright

from api.routers.dashboard import DASHBOARD_DIR
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.layout import catalogue

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


def test_times_read_on_the_sites_clock_with_its_offset(page: Page) -> None:
    got = page.evaluate(
        """async () => {
            const i = await import("/static/js/i18n.js");
            const at = "2026-12-04T16:08:21Z";
            const out = {};
            for (const zone of ["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata"]) {
                i.setTimeZone(zone);
                out[zone] = [i.formatTime(at), i.formatClock(at), i.siteOffsetMs(Date.parse(at))];
            }
            return out;
        }"""
    )
    assert got == {
        "Asia/Shanghai": ["2026-12-05 00:08:21 +08:00", "00:08:21", 8 * 3_600_000],
        "UTC": ["2026-12-04 16:08:21 +00:00", "16:08:21", 0],
        "America/New_York": ["2026-12-04 11:08:21 -05:00", "11:08:21", -5 * 3_600_000],
        "Asia/Kolkata": ["2026-12-04 21:38:21 +05:30", "21:38:21", 330 * 60_000],
    }


def test_words_come_from_the_chosen_catalogue(page: Page) -> None:
    got = page.evaluate(
        """async () => {
            const i = await import("/static/js/i18n.js");
            const out = {};
            for (const lang of ["zh-CN", "en"]) {
                i.setLang(lang);
                out[lang] = {
                    lang: i.lang(), html: document.documentElement.lang,
                    stored: localStorage.getItem("firewatch.lang"),
                    one: i.t("card.signalCount", { n: 1 }), two: i.t("card.signalCount", { n: 2 }),
                    rule: i.label("rule", "smoke_alarm"), unknown: i.label("rule", "a_new_rule"),
                    kept: i.t("dispatch.zone", {}),
                };
            }
            i.t("no.suchKey");
            return { ...out, missing: i.missingKeys() };
        }"""
    )
    zh, en = catalogue("zh-CN"), catalogue("en")
    for lang, words in (("zh-CN", zh), ("en", en)):
        plural = words["card.signalCount"]
        assert got[lang] == {
            "lang": lang,
            "html": lang,
            "stored": lang,
            "one": plural.get("one", plural["other"]).replace("{n}", "1"),
            "two": plural["other"].replace("{n}", "2"),
            "rule": words["rule.smoke_alarm"],
            "unknown": "a new rule",  # a code newer than the console reads as itself
            "kept": words["dispatch.zone"],  # a parameter not given stays visible
        }
    assert got["en"]["one"] != got["en"]["two"].replace("2", "1")  # English has a singular
    assert got["missing"] == ["no.suchKey"]


# Readings as the API returns them: one bucket; one flat value; a span of seconds; a day.
MINUTE = 60_000
SERIES = {
    "one bucket": [(0, 41.0, 44.5, 48.0)],
    "one value": [(m * MINUTE, 20.0, 20.0, 20.0) for m in range(3)],
    "seconds": [(s * 1000, 20.0, 21.0, 22.5) for s in (0, 7, 15, 21)],
    "a day": [(h * 60 * MINUTE, 10.0, 12.0 + h % 5, 30.0) for h in range(25)],
}


def test_chart_axes_stay_readable_for_one_bucket_one_value_and_short_spans(page: Page) -> None:
    axes = page.evaluate(
        """async (series) => {
            const { setTimeZone } = await import("/static/js/i18n.js");
            const { drawReadings } = await import("/static/js/readings-chart.js");
            setTimeZone("Asia/Shanghai");
            const canvas = document.createElement("canvas");
            canvas.style.cssText = "width: 600px; height: 208px; display: block";
            document.body.append(canvas);
            const start = Date.parse("2026-12-04T16:00:00Z");
            const out = {};
            for (const [name, points] of Object.entries(series)) {
                drawReadings(canvas, points.map(([dt, min, avg, max]) =>
                    ({ t: new Date(start + dt).toISOString(), min, avg, max })), { unit: "°C" });
                out[name] = JSON.parse(canvas.dataset.axes);
            }
            return out;
        }""",
        SERIES,
    )
    for name, got in axes.items():
        assert len(set(got["x"])) == len(got["x"]) >= 1, name  # never "04:00 04:00 04:00"
        assert len(set(got["y"])) == len(got["y"]) >= 2, name
        assert all(label.endswith(" °C") for label in got["y"]), name
    assert axes["one bucket"]["x"] == ["00:00"]  # Beijing time, one label for one bucket
    assert axes["one value"]["x"][:2] == ["00:00:00", "00:00:30"]  # two minutes, 30 s apart
    assert "20 °C" in axes["one value"]["y"]
    assert all(len(label) == 8 for label in axes["seconds"]["x"])  # 00:00:10: seconds shown
    assert len(axes["seconds"]["x"]) >= 2
    # A day: round hours, midnight written as its date.
    assert axes["a day"]["x"] == ["12-05", "06:00", "12:00", "18:00", "12-06"]
