"""Accessibility: axe-core's rules run inside the page in Chromium on the console, the wall and
the field page, each in the states people meet (signed out, a fire open, a drawer or a form
open), in Chinese and in English where the page has both. No serious or critical violation.

axe-core comes from the axe-playwright-python package (the dev extra), which bundles it:
nothing is fetched from a CDN, and the pages keep their own strict policies (Playwright's
evaluation is not a page script)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.app import create_app
from firewatch.testing import free_port, serving
from settings import Settings
from tests.conftest import Registry
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.test_dashboard_browser import _call, _token
from tests.dispatch.grid import Grid, fire, make_grid

pytestmark = needs_chromium

BLOCKING = ("serious", "critical")
LANGUAGES = ("zh-CN", "en")


def _blocking(page: Page, where: str) -> list[str]:
    """Serious and critical violations, one line per rule with the elements that have it."""
    found = Axe().run(page, options={"resultTypes": ["violations"]}).response["violations"]
    assert isinstance(found, list)
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']}: "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.fixture()
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield found
        finally:
            found.close()


def _page(browser: Browser, language: str, **options: Any) -> Page:
    """A page whose console language is ``language`` from the first script on."""
    context = browser.new_context(locale=language, **options)
    context.add_init_script(f"localStorage.setItem('firewatch.lang', {language!r})")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture()
def incident(
    settings: Settings, database_url: str, db: psycopg.Connection[Any], registry: Registry
) -> tuple[Grid, int]:
    """A confirmed fire in a building of a zone with its grid workers."""
    with ThreadPoolExecutor(1) as pool:  # the setup runs its own event loop
        grid: Grid = pool.submit(make_grid, database_url, db, settings.site).result()
    return grid, fire(registry, db, settings.site, grid.building)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_console(
    settings: Settings,
    database_url: str,
    browser: Browser,
    incident: tuple[Grid, int],
    language: str,
) -> None:
    operator = _token(database_url, f"op-{settings.site}", "operator")
    page = _page(browser, language, viewport={"width": 1366, "height": 768})
    problems: list[str] = []
    with serving(create_app(settings), free_port()) as base:
        page.goto(base + "/")
        expect(page.locator("#login")).to_be_visible()
        problems += _blocking(page, "sign-in")

        page.fill("#token", operator)
        page.click("#login-form button[type=submit]")
        card = page.locator(f'#incident-list .incident[data-id="{incident[1]}"]')
        expect(card).to_be_visible()
        expect(page.locator("#status dl")).to_be_visible()
        problems += _blocking(page, "console with a fire")

        card.locator('[data-action="details"]').click()
        expect(page.locator("#drawer")).to_be_visible()
        expect(page.locator("#drawer .timeline-log")).to_be_visible()
        problems += _blocking(page, "incident drawer")

        page.click("#drawer-close")
        card.locator('[data-action="resolve"]').click()
        expect(page.locator("#action-dialog")).to_be_visible()
        problems += _blocking(page, "resolve dialog")
        page.goto("about:blank")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_wall(
    settings: Settings,
    database_url: str,
    browser: Browser,
    incident: tuple[Grid, int],
    language: str,
) -> None:
    viewer = _token(database_url, f"wall-{settings.site}", "viewer")
    page = _page(browser, language, viewport={"width": 1920, "height": 1080})
    problems: list[str] = []
    with serving(create_app(settings), free_port()) as base:
        page.goto(base + "/wall")
        expect(page.locator("#login")).to_be_visible()
        problems += _blocking(page, "wall sign-in")

        page.goto(f"{base}/wall#token={viewer}")
        expect(page.locator(f'#tiles .tile[data-id="{incident[1]}"]')).to_be_visible()
        expect(page.locator("#link")).to_have_attribute("data-status", "live")
        expect(page.locator("#devices .counter")).to_have_count(3)
        problems += _blocking(page, "wall with a fire")
        page.goto("about:blank")
    assert not problems, "\n".join(problems)


def test_the_field_page(
    settings: Settings,
    database_url: str,
    db: psycopg.Connection[Any],
    browser: Browser,
    incident: tuple[Grid, int],
) -> None:
    port = free_port()
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    grid, incident_id = incident
    operator = _token(database_url, f"op-{settings.site}", "operator")
    page = _page(
        browser,
        "zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    problems: list[str] = []
    with serving(create_app(settings), port) as base:
        made = _call(base, operator, "POST", f"/api/v1/incidents/{incident_id}/dispatch", {})
        row = db.execute(
            "SELECT message->>'link' FROM deliveries WHERE dispatch_id = %s AND person_id = %s",
            (made["id"], grid.workers[0]),
        ).fetchone()
        assert row is not None
        page.goto(row[0])
        expect(page.locator('#actions button[data-step="accept"]')).to_be_visible()
        problems += _blocking(page, "field page, a new dispatch")

        for step in ("accept", "on_my_way", "arrived"):
            page.locator(f'#actions button[data-step="{step}"]').click()
            expect(page.locator(f'#progress li[data-step="{step}"]')).to_have_class("reached")
        expect(page.locator("#verdict")).to_be_visible()
        page.locator('#verdict input[value="false_alarm"]').check()
        expect(page.locator("#cause-label")).to_be_visible()
        problems += _blocking(page, "field page, the verdict form")
        page.locator('#verdict input[value="real_fire"]').check()
        expect(page.locator("#call-119")).to_be_visible()
        problems += _blocking(page, "field page, a real fire's 119 prompt")

        page.goto(f"{base}/field/not-a-link")
        expect(page.locator("main.refused")).to_be_visible()
        problems += _blocking(page, "field page, a refused link")
        page.goto("about:blank")
    assert not problems, "\n".join(problems)
