"""A real browser on the incident drawer's dispatch panel: the operator dispatches a fire to the
zone's first on call, sees who was reached and their messages, sees the worker's answers arrive
live, and answers the 119 prompt a real-fire verdict raises."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from api.app import create_app
from firewatch.testing import serving
from settings import Settings
from tests.api.dispatch_helpers import token_for
from tests.conftest import Registry
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.layout import IN_ENGLISH
from tests.dashboard.test_dashboard_browser import _call, _sign_in, _token
from tests.dispatch.grid import Grid, fire, make_grid

pytestmark = needs_chromium


@pytest.fixture()
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.add_init_script(IN_ENGLISH)
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()


def _answer(base: str, link: str, body: dict[str, Any]) -> None:
    """As the worker's phone: no login, only the link."""
    request = urllib.request.Request(
        f"{base}/api/v1/field/{link}/steps",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_an_operator_dispatches_follows_the_worker_and_confirms_the_119_call(
    settings: Settings,
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    browser_page: Page,
) -> None:
    site, page = settings.site, browser_page
    with ThreadPoolExecutor(1) as pool:  # their own event loops, beside Playwright's
        grid: Grid = pool.submit(make_grid, database_url, db, site).result()
        operator = pool.submit(_token, database_url, f"op-{site}", "operator").result()
    incident = fire(registry, db, site, grid.building)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    with serving(create_app(settings)) as base:
        _sign_in(page, base, operator)
        card = page.locator(f'#incident-list .incident[data-building="{grid.building}"]')
        card.locator('[data-action="details"]').click()
        panel = page.locator('#drawer [data-panel="dispatch"]')
        panel.locator('[data-action="dispatch"]').click()
        expect(page.locator('#toasts [role="status"]').last).to_contain_text("Dispatched to 王芳")

        wang = grid.workers[0]
        dispatch = panel.locator("article.dispatch")
        expect(dispatch).to_have_attribute("data-state", "notifying")
        expect(dispatch.locator(f'li[data-person="{wang}"]')).to_contain_text("王芳")
        expect(dispatch.locator(".deliveries summary")).to_contain_text("of 2")
        expect(panel.locator('[data-action="revoke"]')).to_be_visible()
        expect(panel.locator('[data-action="dispatch"]')).to_have_count(0)  # one at a time

        (made,) = _call(base, operator, "GET", f"/api/v1/incidents/{incident}/dispatches")["items"]
        link = token_for(db, made["id"], wang)
        _answer(base, link, {"step": "accept"})
        # The worker's step reaches the drawer over the live stream.
        expect(panel.locator("article.dispatch")).to_have_attribute("data-state", "accepted")
        expect(panel.locator(f'li[data-person="{wang}"]')).to_have_attribute("data-answered", "yes")
        expect(page.locator("#drawer .timeline-log")).to_contain_text(f"field:{wang}")

        _answer(base, link, {"step": "verdict", "verdict": "real_fire", "note": "二楼起火"})
        prompt = panel.locator('[data-call119="pending"]')
        expect(prompt).to_contain_text("119")
        expect(panel.locator(".verdict")).to_contain_text("Real fire")
        prompt.locator('[data-action="call-119"]').click()
        expect(panel.locator('[data-call119="recorded"]')).to_contain_text(
            f"119 called · op-{site}"
        )
        page.goto("about:blank")

    call = db.execute(
        "SELECT call_119_confirmed, call_119_by FROM incidents WHERE id = %s", (incident,)
    ).fetchone()
    assert call == (True, f"op-{site}")
    assert not errors, errors
