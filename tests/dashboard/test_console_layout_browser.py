"""The console in Chromium, in Chinese and in English, at 1366 x 768 and 1920 x 1080, on a quarter
with incidents, trouble, ten hot spots, footprints and streets: no text clipped or spilling out of
its box (the main view, an incident's drawer, the resolve dialog, a device's chart), the top bar on
one line, the hot-spot list scrolling, normal buildings at 3:1, the CJK fonts named, every key
found, times on the site's clock. Screenshots of each go to the artifacts directory printed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.app import create_app
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from firewatch.testing import free_port, serving, wait_until
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from store.users import add_user
from tests.api.alert_helpers import raise_alert
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.layout import IN_ENGLISH, LANGUAGES, OVERFLOW_JS, artifacts_dir, catalogue
from tests.dashboard.test_dashboard_browser import _call
from tests.ingest.helpers import running

pytestmark = needs_chromium

VIEWPORTS = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}
ROWS, COLUMNS = 3, 4  # twelve buildings, a smoke detector and an electrical monitor in each
LAT0, LON0, DLAT, DLON = 23.0970, 113.2650, 0.0004, 0.0005
HALF = 0.00006  # half a footprint's side, in degrees


@dataclass(frozen=True, slots=True)
class Quarter:
    base: str
    operator: str
    site: str
    footprints: int
    streets: int


def _building(site: str, row: int, column: int) -> str:
    return f"{site}-B{row}{column}"


def _footprint(lat: float, lon: float) -> list[list[float]]:
    return [
        [lon - HALF, lat - HALF],
        [lon + HALF * 1.6, lat - HALF],
        [lon + HALF * 1.6, lat + HALF],
        [lon - HALF, lat + HALF],
    ]


def _streets(path: Path) -> int:
    """Lanes between the rows and the columns, as OpenStreetMap exports them."""
    lanes = [
        [[LON0 - DLON, LAT0 + (r + 0.5) * DLAT], [LON0 + COLUMNS * DLON, LAT0 + (r + 0.5) * DLAT]]
        for r in range(-1, ROWS)
    ] + [
        [[LON0 + (c + 0.5) * DLON, LAT0 - DLAT], [LON0 + (c + 0.5) * DLON, LAT0 + ROWS * DLAT]]
        for c in range(-1, COLUMNS)
    ]
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {"name": f"lane {i}"},
            "geometry": {"type": "LineString", "coordinates": lane},
        }
        for i, lane in enumerate(lanes)
    ]
    # A point of interest in the same file: not a street, left out.
    point = {"type": "Point", "coordinates": [LON0, LAT0]}
    features.append({"type": "Feature", "properties": {}, "geometry": point})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return len(lanes)


def _tokens(database_url: str, site: str) -> tuple[str, str]:
    async def go() -> tuple[str, str]:
        conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        async with conn:
            technician = await add_user(conn, name=f"tech-{site}", role="technician")
            return technician, await add_user(conn, name=f"op-{site}", role="operator")

    with ThreadPoolExecutor(1) as pool:  # beside Playwright's own event loop
        return pool.submit(asyncio.run, go()).result()


def _register(base: str, token: str, site: str) -> int:
    """Buildings (every other one with its footprint) and their devices; returns how many have
    a footprint."""
    footprints = 0
    for row in range(ROWS):
        for column in range(COLUMNS):
            lat, lon = LAT0 + row * DLAT, LON0 + column * DLON
            building = {"id": _building(site, row, column), "lat": lat, "lon": lon}
            if (row + column) % 2 == 0:
                building["footprint"] = _footprint(lat, lon)
                footprints += 1
            _call(base, token, "POST", "/api/v1/buildings", building)
            for kind, dlat in ((Kind.SMOKE, 0.00002), (Kind.ELECTRICAL, -0.00002)):
                device = {
                    "id": f"{building['id']}-{'SD' if kind is Kind.SMOKE else 'EF'}",
                    "kind": kind.value,
                    "site": site,
                    "building": building["id"],
                    "lat": lat + dlat,
                    "lon": lon,
                }
                _call(base, token, "POST", "/api/v1/devices", device)
    return footprints


def _readings(settings: Settings) -> None:
    """Three readings a minute apart from every device: warm rooms and cables, none hot enough
    for an alert, so that the hot-spot list is full and the charts have a few buckets."""
    now = datetime.now(UTC)
    with Publisher(settings.mqtt, client_id=f"pub-{settings.site}") as pub:
        for row in range(ROWS):
            for column in range(COLUMNS):
                building = _building(settings.site, row, column)
                warm = 30.0 + row * 3 + column
                for minutes in (2, 1, 0):
                    at = now - timedelta(minutes=minutes)
                    smoke = SimDevice(f"{building}-SD", Kind.SMOKE, settings.site)
                    cable = SimDevice(f"{building}-EF", Kind.ELECTRICAL, settings.site)
                    pub.publish(*smoke.reading(at, temperature_c=warm))
                    pub.publish(*cable.reading(at, cable_temp_c=warm + 4))


def _incidents(db: psycopg.Connection[Any], site: str) -> None:
    """A fire, pre-alarms and a supervisory incident, and two devices' trouble."""
    signals = [
        (0, 0, "SD", Rule.SMOKE_ALARM, AlertClass.FIRE),
        (0, 1, "EF", Rule.ELECTRICAL_ALARM, AlertClass.PREALARM),
        (1, 2, "SD", Rule.SMOKE_PREALARM, AlertClass.PREALARM),
        (2, 3, "EF", Rule.LEAKAGE, AlertClass.SUPERVISORY),
        (1, 0, "EF", Rule.CABLE_TEMP_ROR, AlertClass.PREALARM),
    ]
    for row, column, kind, rule, alert_class in signals:
        building = _building(site, row, column)
        raise_alert(db, f"{building}-{kind}", rule, alert_class, site=site, building=building)
    for row, column in ((2, 0), (2, 1)):
        building = _building(site, row, column)
        raise_alert(
            db, f"{building}-SD", Rule.OFFLINE, AlertClass.TROUBLE, site=site, building=building
        )


@pytest.fixture(scope="module")
def quarter(
    database_url: str, broker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Quarter]:
    site = "tlayout" + datetime.now(UTC).strftime("%H%M%S")
    streets_file = tmp_path_factory.mktemp("streets") / "streets.geojson"
    streets = _streets(streets_file)
    settings = Settings(
        database_url=database_url,
        mqtt_url=broker_url,
        site=site,
        ingest_client_id=f"ingest-{site}",
        ingest_batch_wait_ms=20,
        streets_file=streets_file,
    )
    technician, operator = _tokens(database_url, site)
    with (
        psycopg.connect(database_url, autocommit=True) as db,
        running(settings),
        serving(create_app(settings), free_port()) as base,
    ):
        footprints = _register(base, technician, site)
        _readings(settings)
        wait_until(
            lambda: len(_call(base, operator, "GET", "/api/v1/overview")["hot_spots"]) >= 10,
            timeout=20,
            what="ten hot spots in the overview",
        )
        _incidents(db, site)
        prealarm = next(
            i
            for i in _call(base, operator, "GET", "/api/v1/incidents?open=true")["items"]
            if i["class"] == "prealarm"
        )
        _call(base, operator, "POST", f"/api/v1/incidents/{prealarm['id']}/ack", {})
        _call(base, operator, "POST", f"/api/v1/incidents/{prealarm['id']}/claim", {})
        print(f"\nscreenshots: {artifacts_dir()}")
        yield Quarter(
            base=base, operator=operator, site=site, footprints=footprints, streets=streets
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


def _open(browser: Browser, quarter: Quarter, lang: str, size: tuple[int, int]) -> Page:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.add_init_script(IN_ENGLISH.replace("'en'", f"'{lang}'"))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(quarter.base + "/")
    page.fill("#token", quarter.operator)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator("#incident-list .incident")).to_have_count(5)
    expect(page.locator("#status .hot-spots li")).to_have_count(10)
    expect(page.locator("#plan")).to_have_attribute("data-streets", str(quarter.streets))
    expect(page.locator("#plan")).to_have_attribute("data-footprints", str(quarter.footprints))
    return page


def _no_overflow(page: Page, shot: str) -> None:
    page.screenshot(path=str(artifacts_dir() / f"{shot}.png"))
    assert page.evaluate(OVERFLOW_JS) == [], shot


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_is_clipped_in_either_language(
    browser: Browser, quarter: Quarter, lang: str, size: str
) -> None:
    words = catalogue(lang)
    page = _open(browser, quarter, lang, VIEWPORTS[size])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    assert page.evaluate("document.documentElement.lang") == lang
    expect(page.locator("#class-filters .chip-fire")).to_contain_text(words["class.fire"])
    expect(page.locator("#list-tabs [data-tab=incidents]")).to_contain_text(words["list.incidents"])
    expect(page.locator("#site-clock")).to_have_text(
        words["top.zone"].replace("{offset}", "+08:00")
    )

    # The top bar is one line: every item's middle at the same height.
    middles = page.locator(".topbar > *, .topbar-right > *").evaluate_all(
        "els => els.map((e) => e.getBoundingClientRect())"
        ".map((r) => Math.round(r.top + r.height / 2))"
    )
    assert max(middles) - min(middles) <= 2, middles
    # The hot-spot list scrolls inside the figures panel rather than running out of it.
    spots = page.locator("#status .hot-spots")
    assert spots.evaluate("el => getComputedStyle(el).overflowY") == "auto"
    assert spots.evaluate(
        "el => el.getBoundingClientRect().bottom"
        " <= el.closest('.panel').getBoundingClientRect().bottom + 1"
    )
    _no_overflow(page, f"{lang}-{size}-main")

    page.locator('#incident-list .incident[data-class="fire"] [data-action="details"]').click()
    expect(page.locator('#drawer [data-panel="dispatch"]')).to_be_visible()
    expect(page.locator("#drawer .timeline-log li").first).to_be_visible()
    _no_overflow(page, f"{lang}-{size}-incident")

    page.locator('#drawer .incident [data-action="resolve"]').click()
    expect(page.locator("#action-dialog")).to_be_visible()
    _no_overflow(page, f"{lang}-{size}-resolve")
    page.keyboard.press("Escape")  # the dialog
    page.keyboard.press("Escape")  # the drawer

    page.locator('#list-tabs [data-tab="alerts"]').click()
    expect(page.locator("#alert-list .alert")).to_have_count(2)
    _no_overflow(page, f"{lang}-{size}-technicians")

    page.locator("#status .hot-spots button").first.click()
    chart = page.locator("#drawer canvas.chart")
    expect(chart).to_have_attribute("data-axes", re.compile(r'"x":\["'))
    axes = json.loads(chart.get_attribute("data-axes") or "{}")
    assert len(set(axes["x"])) == len(axes["x"]) and len(set(axes["y"])) == len(axes["y"]) >= 2
    _no_overflow(page, f"{lang}-{size}-device")

    assert page.evaluate("async () => (await import('/static/js/i18n.js')).missingKeys()") == []
    page.goto("about:blank")
    page.context.close()
    assert errors == []


def test_the_plan_and_fonts_are_legible(browser: Browser, quarter: Quarter) -> None:
    page = _open(browser, quarter, "zh-CN", VIEWPORTS["1366x768"])
    colours = page.evaluate(
        "() => { const s = getComputedStyle(document.documentElement);"
        " return ['--normal', '--plan-bg'].map((v) => s.getPropertyValue(v).trim()); }"
    )
    lighter, darker = sorted((_luminance(c) for c in colours), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 3, colours
    fonts = page.evaluate("getComputedStyle(document.body).fontFamily")
    for font in ("Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei"):
        assert font in fonts
    page.context.close()


def test_the_language_switch_is_remembered_by_the_browser(
    browser: Browser, quarter: Quarter
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(quarter.base + "/")
    zh, en = catalogue("zh-CN"), catalogue("en")
    expect(page.locator("#login-form button[type=submit]")).to_have_text(zh["login.submit"])
    page.fill("#token", quarter.operator)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#logout")).to_have_text(zh["top.signOut"])
    page.locator(".topbar [data-lang-switch]").click()
    expect(page.locator("#logout")).to_have_text(en["top.signOut"])  # reloaded, still signed in
    assert page.evaluate("localStorage.getItem('firewatch.lang')") == "en"
    second = context.new_page()  # another tab of the same browser
    second.goto(quarter.base + "/")
    expect(second.locator("#login-form button[type=submit]")).to_have_text(en["login.submit"])
    second.locator(".login [data-lang-switch]").click()
    expect(second.locator("#login-form button[type=submit]")).to_have_text(zh["login.submit"])
    context.close()
