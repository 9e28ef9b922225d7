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


def test_a_stream_event_and_a_list_reload_keep_the_newer_alert(page: Page) -> None:
    """Also: the list puts a fire nobody acknowledged above everything else."""
    result = page.evaluate(
        """async () => {
            const s = await import("/static/js/state.js");
            const at = (second) => `2026-01-01T00:00:0${second}Z`;
            const alert = (id, state, second, cls) => ({
                id, state, class: cls, device_id: "SD-1", updated_at: at(second), raised_at: at(id),
            });
            const before = performance.now();
            s.upsertAlert(alert(1, "active_ack", 9, "fire"));  // from the stream
            // A list read before that change, with an alert the stream has not brought.
            s.replaceOpenAlerts(
                [alert(1, "active_unack", 5, "fire"), alert(2, "active_unack", 6, "trouble")],
                before,
            );
            const result = {
                states: s.sortedAlerts().map((a) => [a.id, a.state]),
                stale: s.upsertAlert(alert(2, "active_unack", 1, "trouble")),
                unackedFire: s.unackedFire(),
                worst: Object.fromEntries(s.liveClasses().byDevice),
            };
            s.upsertAlert(alert(0, "active_unack", 9, "fire"));  // the oldest, unacknowledged
            return { ...result, order: s.sortedAlerts().map((a) => a.id) };
        }"""
    )
    assert result == {
        "states": [[2, "active_unack"], [1, "active_ack"]],
        "stale": False,
        "unackedFire": False,
        "worst": {"SD-1": "fire"},
        "order": [0, 2, 1],  # a fire waiting for acknowledgement first, then newest first
    }
