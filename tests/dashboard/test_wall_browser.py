"""The wall display (大屏) in a real Chromium: opened with a viewer token in its link, it shows a
fire arriving over MQTT, ingest and the live stream as a large tile, on the counters, on the
plan and in the last 24 hours; follows an operator's acknowledgement; counts what does not fit
on a last tile; and is legible and uncut at 1920x1080 and at 3840x2160 (screenshots saved).
When the API goes away it says so and catches up when it comes back. It only ever reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, Request, ViewportSize, expect, sync_playwright

from api.app import create_app
from firewatch.testing import free_port, serving
from settings import Settings
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.layout import OVERFLOW_JS, artifacts_dir
from tests.dashboard.test_dashboard_browser import _alarm, _call, _token
from tests.ingest.helpers import running

pytestmark = needs_chromium

LIVE_MS = 20_000
FULL_HD: ViewportSize = {"width": 1920, "height": 1080}
UHD: ViewportSize = {"width": 3840, "height": 2160}
# The smallest text, as a share of the screen's height (wall.css says why: 3 m on a 55" panel).
SMALLEST_TEXT = 0.025

# No text over another (names on the plan, tiles): what the overflow check cannot see.
OVERLAPS = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.checkVisibility({ visibilityProperty: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const name = `${el.tagName}.${el.className} "${node.textContent.trim().slice(0, 30)}"`;
    for (const r of range.getClientRects()) if (r.width && r.height) texts.push({ node, name, r });
  }
  const meet = (r, q) => Math.min(r.right, q.right) - Math.max(r.left, q.left) > 1
    && Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top) > 1;
  const problems = [];
  texts.forEach((a, i) => texts.slice(i + 1).forEach((b) => {
    if (a.node !== b.node && meet(a.r, b.r)) problems.push(`${a.name} over ${b.name}`);
  }));
  return problems;
}"""

SMALLEST = """() => {
  let smallest = Infinity;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.checkVisibility({ visibilityProperty: true })) continue;
    smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize));
  }
  return smallest;
}"""


def _check_screen(page: Page, name: str) -> None:
    """Nothing cut off, scrolled away or covered, the smallest text legible across the room;
    a screenshot kept with the console's."""
    shot = artifacts_dir().parent / "wall" / f"{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    assert page.evaluate(OVERFLOW_JS) == []
    assert page.evaluate(OVERLAPS) == []
    height = page.viewport_size["height"] if page.viewport_size else 0
    assert page.evaluate(SMALLEST) >= SMALLEST_TEXT * height - 0.5


def _register(base: str, token: str, site: str, count: int) -> dict[str, str]:
    """``count`` buildings along a lane, each with a smoke detector; returns their names."""
    names = {}
    for n in range(count):
        building = f"{site}-B{n}"
        # Names as the registry holds them; one long enough to need two lines on a tile.
        names[building] = "紫来坊旧城改造片区临时安置楼东侧3号" if n == 3 else f"紫来坊{n}号"
        lat, lon = 23.0970 + (n % 4) * 0.0004, 113.2650 + (n // 4) * 0.0005
        _call(
            base,
            token,
            "POST",
            "/api/v1/buildings",
            {"id": building, "name": names[building], "lat": lat, "lon": lon},
        )
        _call(
            base,
            token,
            "POST",
            "/api/v1/devices",
            {
                "id": f"{site}-SD-{n}",
                "kind": "smoke",
                "site": site,
                "building": building,
                "lat": lat + 0.00001,
                "lon": lon + 0.00001,
            },
        )
    return names


def _devices(base: str, token: str) -> tuple[int, int]:
    kinds = _call(base, token, "GET", "/api/v1/overview")["devices"]["by_kind"].values()
    return sum(k["online"] for k in kinds), sum(k["offline"] for k in kinds)


@pytest.fixture()
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield found
        finally:
            found.close()


def _wall(browser: Browser) -> Page:
    page = browser.new_page(viewport=FULL_HD, locale="zh-CN")
    page.set_default_timeout(15_000)
    return page


def test_the_wall_shows_a_fire_live_and_stays_legible_and_uncut(
    settings: Settings, database_url: str, browser: Browser
) -> None:
    site, page = settings.site, _wall(browser)
    technician = _token(database_url, f"tech-{site}", "technician")
    operator = _token(database_url, f"op-{site}", "operator")
    viewer = _token(database_url, f"wall-{site}", "viewer")
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))  # noqa: PLW0108 (Playwright tags it)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    with running(settings), serving(create_app(settings), free_port()) as base:
        names = _register(base, technician, site, 14)
        page.goto(f"{base}/wall#token={viewer}")
        link = page.locator("#link")
        expect(link).to_have_attribute("data-status", "live")
        expect(link).to_have_text("实时")
        assert "token" not in page.url, "the token leaves the address bar"
        assert page.evaluate("localStorage.getItem('firewatch.wall.token')") == viewer
        expect(page.locator("#tiles-empty")).to_be_visible()
        expect(page.locator('#counters [data-class="fire"]')).to_have_attribute("data-count", "0")
        online, offline = _devices(base, viewer)
        expect(page.locator('#devices [data-state="online"] .counter-n')).to_have_text(str(online))
        expect(page.locator('#devices [data-state="offline"] .counter-n')).to_have_text(
            str(offline)
        )
        expect(page.locator("#clock-date")).to_contain_text("UTC+08:00")
        _check_screen(page, "wall-1920-quiet")

        def lists() -> int:
            return sum("/api/v1/incidents?" in r.url for r in requests)

        lists_before = lists()
        _alarm(settings, "SD-0")
        tile = page.locator(f'#tiles .tile[data-building="{site}-B0"]')
        expect(tile).to_have_attribute("data-state", "active_unack", timeout=LIVE_MS)
        assert lists() == lists_before, "the fire comes over the live stream"
        expect(tile).to_have_attribute("data-class", "fire")
        expect(tile.locator(".tile-place")).to_have_text(names[f"{site}-B0"])
        expect(tile.locator(".tile-class")).to_have_text("火警")
        expect(tile.locator('[data-role="state"]')).to_have_text("新警情 · 未确认")
        expect(page.locator('#counters [data-class="fire"]')).to_have_attribute("data-count", "1")
        expect(page.locator("#plan")).to_have_attribute(
            "data-incidents", f"{site}-B0 fire unacknowledged"
        )
        expect(page.locator(f'#plan-labels [data-building="{site}-B0"]')).to_have_text(
            names[f"{site}-B0"]
        )
        # Opened on the site's clock (Beijing), whatever the wall's own computer says.
        [listed] = _call(base, viewer, "GET", "/api/v1/incidents?open=true")["items"]
        opened = datetime.fromisoformat(listed["opened_at"]).astimezone(settings.tz)
        expect(tile.locator('[data-role="since"]')).to_contain_text(f"{opened:%H:%M} 起")
        # The overview follows within seconds: the last 24 hours count the fire.
        expect(page.locator('#day-totals [data-class="fire"]')).to_have_text("火警 1")
        expect(page.locator("#day")).to_have_attribute("aria-label", re.compile("：火警 1、"))

        # An operator acknowledges on the console; the wall follows.
        _call(base, operator, "POST", f"/api/v1/incidents/{listed['id']}/ack", {})
        expect(tile).to_have_attribute("data-state", "active_ack")
        expect(tile.locator('[data-role="state"]')).to_have_text("已确认")
        _check_screen(page, "wall-1920-one-fire")

        # More incidents than fit: the most urgent shown, the rest counted, nothing cut.
        for n in range(1, 14):
            _alarm(settings, f"SD-{n}")
        expect(page.locator('#counters [data-class="fire"]')).to_have_attribute(
            "data-count", "14", timeout=LIVE_MS
        )
        tiles = page.locator("#tiles")
        expect(tiles).to_have_attribute("data-total", "14")
        shown = int(tiles.get_attribute("data-shown") or 0)
        assert 4 <= shown < 14
        expect(tiles.locator('[data-role="more"]')).to_have_text(f"另有 {14 - shown} 起未显示")
        # Unacknowledged first: the acknowledged fire is the one left out of view.
        expect(tile).to_have_count(0)
        _check_screen(page, "wall-1920-many")

        # The same wall on a 4K screen: the same layout at twice the pixels.
        at_hd = page.evaluate("getComputedStyle(document.documentElement).fontSize")
        page.set_viewport_size(UHD)
        assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "60px"
        assert at_hd == "30px"
        expect(tiles).to_have_attribute("data-shown", str(shown))
        _check_screen(page, "wall-3840-many")

        # In English (the console's switch, remembered by the browser): the same, uncut.
        page.set_viewport_size(FULL_HD)
        page.evaluate("localStorage.setItem('firewatch.lang', 'en')")
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#link")).to_have_text("Live")
        expect(tiles).to_have_attribute("data-total", "14")
        expect(tiles.locator('[data-role="more"]')).to_have_text(
            re.compile(r"^\d+ more not shown$")
        )
        expect(page.locator('#counters [data-class="fire"] .counter-label')).to_have_text("Fire")
        first = tiles.locator(".tile").first
        expect(first.locator('[data-role="state"]')).to_have_text("NEW · unacknowledged")
        _check_screen(page, "wall-1920-many-en")
        page.goto("about:blank")

    assert not errors, errors
    acting = [f"{r.method} {r.url}" for r in requests if r.method not in ("GET", "HEAD")]
    assert acting == [], "the wall only reads"


def test_the_wall_says_when_it_lost_the_server_and_catches_up(
    settings: Settings, database_url: str, browser: Browser
) -> None:
    site, page = settings.site, _wall(browser)
    technician = _token(database_url, f"tech-{site}", "technician")
    viewer = _token(database_url, f"wall-{site}", "viewer")
    port = free_port()

    with running(settings):
        with serving(create_app(settings), port) as base:
            _register(base, technician, site, 2)
            page.goto(f"{base}/wall#token={viewer}")
            expect(page.locator("#link")).to_have_attribute("data-status", "live")
            expect(page.locator("#stale")).to_be_hidden()

        # The API is gone while ingest keeps storing: the wall says so, in words and colour.
        expect(page.locator("#link")).to_have_attribute("data-status", "down")
        expect(page.locator("#link")).to_have_text("连接中断 · 正在重连")
        expect(page.locator("#stale")).to_contain_text("画面停留在")
        _alarm(settings, "SD-1")

        with serving(create_app(settings), port):
            # Reconnects by itself (a delay growing to 15 s at most) and replays what it missed.
            expect(page.locator("#link")).to_have_attribute("data-status", "live", timeout=30_000)
            expect(page.locator("#stale")).to_be_hidden()
            expect(page.locator(f'#tiles .tile[data-building="{site}-B1"]')).to_have_attribute(
                "data-class", "fire", timeout=LIVE_MS
            )
            # A reload (the wall's browser restarted) needs no one at a keyboard.
            page.reload()
            expect(page.locator("#link")).to_have_attribute("data-status", "live")
            expect(page.locator(f'#tiles .tile[data-building="{site}-B1"]')).to_have_count(1)
            page.goto("about:blank")


def test_the_wall_takes_a_viewer_token_only(
    settings: Settings, database_url: str, browser: Browser, db: psycopg.Connection[Any]
) -> None:
    site, page = settings.site, _wall(browser)
    operator = _token(database_url, f"op-{site}", "operator")
    viewer = _token(database_url, f"wall-{site}", "viewer")

    with serving(create_app(settings), free_port()) as base:
        page.goto(f"{base}/wall")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#login label")).to_have_text("只读令牌（viewer）")

        page.fill("#token", "fw_not-a-token")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("令牌无效，请检查后重新输入。")

        # A token that may act is refused, and not kept in the unattended browser.
        page.fill("#token", operator)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_contain_text("“operator”角色")
        assert page.evaluate("localStorage.getItem('firewatch.wall.token')") is None
        expect(page.locator("#screen")).to_be_hidden()

        page.fill("#token", viewer)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#link")).to_have_attribute("data-status", "live")

        # Disabling the wall's user ends its session within seconds: back to the sign-in.
        db.execute("UPDATE users SET disabled = true WHERE name = %s", (f"wall-{site}",))
        expect(page.locator("#login-error")).to_contain_text("令牌已失效", timeout=LIVE_MS)
        assert page.evaluate("localStorage.getItem('firewatch.wall.token')") is None
        page.goto("about:blank")
