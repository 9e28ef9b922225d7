"""A real Chromium as the grid worker's phone (390 by 844): the link from the dispatch message
opens the field page; accept, on my way, arrived (sent while offline, queued, delivered when
the network is back) and a verdict with a note and a photo; each step lands in the incident's
timeline, as the operator's API shows it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.app import create_app
from firewatch.testing import free_port, serving, wait_until
from settings import Settings
from tests.api.dispatch_helpers import PNG
from tests.conftest import Registry
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.test_dashboard_browser import _call, _token
from tests.dispatch.grid import Grid, fire, make_grid

pytestmark = needs_chromium


@pytest.fixture()
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield found
        finally:
            found.close()


def _phone(browser: Browser) -> Page:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _worker_actions(base: str, operator: str, incident: int, worker: str) -> list[str]:
    detail = _call(base, operator, "GET", f"/api/v1/incidents/{incident}")
    return [e["action"] for e in detail["timeline"] if e["actor"] == f"field:{worker}"]


def test_a_grid_worker_answers_a_dispatch_from_a_phone(
    settings: Settings,
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    browser: Browser,
) -> None:
    site = settings.site
    port = free_port()
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    # The setup runs its own event loop; Playwright's sync API keeps one in this thread.
    with ThreadPoolExecutor(1) as pool:
        grid: Grid = pool.submit(make_grid, database_url, db, site).result()
        operator = pool.submit(_token, database_url, f"op-{site}", "operator").result()
    incident = fire(registry, db, site, grid.building)
    wang = grid.workers[0]
    page = _phone(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    with serving(create_app(settings), port) as base:
        made = _call(base, operator, "POST", f"/api/v1/incidents/{incident}/dispatch", {})
        (link,) = {
            r[0]
            for r in db.execute(
                "SELECT message->>'link' FROM deliveries WHERE dispatch_id = %s AND person_id = %s",
                (made["id"], wang),
            ).fetchall()
        }
        assert link.startswith(f"{base}/field/")

        page.goto(link)
        expect(page.locator("#incident")).to_contain_text("紫来街12号")
        expect(page.locator("#incident")).to_contain_text("火警")
        expect(page.locator("#title")).to_contain_text("王芳")
        # Made for the phone: nothing wider than the screen, targets a thumb can hit.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        accept = page.locator('#actions button[data-step="accept"]')
        assert (accept.bounding_box() or {"height": 0})["height"] >= 44

        accept.click()
        expect(page.locator('#progress li[data-step="accept"]')).to_have_class("reached")
        expect(page.locator('#progress li[data-step="accept"] time')).not_to_have_text("")
        page.locator('#actions button[data-step="on_my_way"]').click()
        expect(page.locator('#progress li[data-step="on_my_way"]')).to_have_class("reached")
        assert _worker_actions(base, operator, incident, wang) == ["accept", "on_my_way"]

        # No signal on the stairs: "arrived" waits on the phone and goes when the network is back.
        page.context.set_offline(True)
        page.locator('#actions button[data-step="arrived"]').click()
        expect(page.locator("#net")).to_be_visible()
        expect(page.locator('#progress li[data-step="arrived"] time')).to_have_text("待发送")
        assert _worker_actions(base, operator, incident, wang) == ["accept", "on_my_way"]
        page.context.set_offline(False)
        wait_until(
            lambda: "arrived" in _worker_actions(base, operator, incident, wang),
            timeout=15,
            what="the queued arrival",
        )
        expect(page.locator("#net")).to_be_hidden()

        # Offline first: with no network at all, the page still opens (the service worker keeps
        # it) with the incident as last seen, at the step reached.
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the service worker's control
        page.context.set_offline(True)
        page.reload()
        expect(page.locator("#incident")).to_contain_text("紫来街12号")
        expect(page.locator("#net")).to_be_visible()
        expect(page.locator('#progress li[data-step="arrived"]')).to_have_class("reached")
        page.context.set_offline(False)
        page.reload()

        form = page.locator("#verdict")
        expect(form).to_be_visible()
        form.locator('input[value="false_alarm"]').check()
        form.locator('select[name="cause"]').select_option("cooking_fumes")
        form.locator('textarea[name="note"]').fill("三楼厨房油烟，已提醒住户")
        form.locator('input[name="photo"]').set_input_files(
            {"name": "site.png", "mimeType": "image/png", "buffer": PNG}
        )
        expect(page.locator("#preview")).to_be_visible()
        form.locator('button[type="submit"]').click()
        expect(page.locator("#done")).to_be_visible()
        expect(page.locator("#done-text")).to_contain_text("误报")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        assert _worker_actions(base, operator, incident, wang) == [
            "accept",
            "on_my_way",
            "arrived",
            "photo",
            "verdict",
        ]
        detail = _call(base, operator, "GET", f"/api/v1/incidents/{incident}")
        verdict = next(e for e in detail["timeline"] if e["action"] == "verdict")
        assert (verdict["detail"]["cause"], verdict["detail"]["note"]) == (
            "cooking_fumes",
            "三楼厨房油烟，已提醒住户",
        )
        (dispatch,) = _call(base, operator, "GET", f"/api/v1/incidents/{incident}/dispatches")[
            "items"
        ]
        assert dispatch["state"] == "done"
        assert [(p["content_type"], p["size"]) for p in dispatch["photos"]] == [
            ("image/png", len(PNG))
        ]

        # The link is spent: opening it again says so, in Chinese.
        page.goto(link)
        expect(page.locator("main.refused h1")).to_have_text("派单已结束")
        page.goto("about:blank")
    assert not errors, errors
