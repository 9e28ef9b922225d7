"""A real browser on the incident drawer's cameras panel: the cameras that can show the fire in
their order with their streams, a PTZ dome moved to its preset through a local ISAPI camera
(digest authentication), and the video check recorded, arriving in the timeline live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from api.app import create_app
from contract.alarms import AlertClass, Rule
from firewatch.testing import free_port, serving
from settings import Settings
from tests.api.alert_helpers import raise_alert
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.layout import IN_ENGLISH
from tests.dashboard.test_dashboard_browser import _call, _sign_in, _token
from tests.dispatch.isapi_camera import fake_camera

pytestmark = needs_chromium
M = 1 / 111_320  # a metre north, in degrees


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


def test_an_operator_moves_a_camera_to_the_fire_and_records_what_it_shows(
    settings: Settings, database_url: str, db: psycopg.Connection[Any], browser_page: Page
) -> None:
    site, page = settings.site, browser_page
    technician = _token(database_url, f"tech-{site}", "technician")
    operator = _token(database_url, f"op-{site}", "operator")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    building = f"{site}-B1"
    dome, fixed = f"{site}-VC1", f"{site}-VC2"

    with (
        fake_camera(presets=frozenset({4})) as camera,
        serving(create_app(settings), free_port()) as base,
    ):
        _call(
            base,
            technician,
            "POST",
            "/api/v1/buildings",
            {"id": building, "lat": 23.1, "lon": 113.27},
        )
        config = {
            "stream": "rtsp://10.20.0.15:554/Streaming/Channels/{channel}01",
            "presets": [{"name": "front door", "number": 4, "buildings": [building]}],
            "ptz": {"driver": "isapi", "url": camera.url},
        }
        for device_id, metres, cfg in (
            (dome, 50, config),
            (fixed, 20, {"stream": "https://video.x.local/live/{camera}.m3u8", "range_m": 60}),
        ):
            _call(
                base,
                technician,
                "POST",
                "/api/v1/devices",
                {
                    "id": device_id,
                    "kind": "video_camera",
                    "site": site,
                    "lat": 23.1 + metres * M,
                    "lon": 113.27,
                    "config": cfg,
                },
            )
        _call(
            base,
            technician,
            "PUT",
            f"/api/v1/cameras/{dome}/credentials",
            {"username": "firewatch", "password": "Circle of Life"},
        )
        smoke = f"{site}-SD1"
        _call(
            base,
            technician,
            "POST",
            "/api/v1/devices",
            {"id": smoke, "kind": "smoke", "site": site, "building": building},
        )
        raise_alert(db, smoke, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, building=building)

        _sign_in(page, base, operator)
        card = page.locator(f'#incident-list .incident[data-building="{building}"]')
        card.locator('[data-action="details"]').click()
        panel = page.locator('#drawer [data-panel="cameras"]')
        items = panel.locator("li[data-camera]")
        expect(items).to_have_count(2)
        assert items.evaluate_all("els => els.map((e) => e.dataset.camera)") == [dome, fixed]
        first = panel.locator(f'li[data-camera="{dome}"]')
        expect(first).to_contain_text("preset 4 “front door”")
        expect(first.locator('[data-action="stream"]')).to_have_attribute(
            "href", "rtsp://10.20.0.15:554/Streaming/Channels/101"
        )
        expect(
            panel.locator(f'li[data-camera="{fixed}"] [data-action="stream"]')
        ).to_have_attribute("href", f"https://video.x.local/live/{fixed}.m3u8")
        expect(panel.locator(f'li[data-camera="{fixed}"] [data-action="goto"]')).to_have_count(0)

        first.locator('[data-action="goto"]').click()
        expect(page.locator('#toasts [role="status"]')).to_contain_text(f"{dome} moved to preset 4")
        assert camera.moves == [(1, 4)]
        timeline = page.locator("#drawer .timeline-log")
        expect(timeline.locator('li[data-log-action="camera_goto"]')).to_contain_text(
            "camera moved to preset"
        )

        form = page.locator('#drawer form[data-form="video-check"]')
        form.locator('select[name="camera"]').select_option(dome)
        form.locator('select[name="result"]').select_option("smoke_seen")
        form.locator('input[name="note"]').fill("smoke at the 2F window")
        form.locator('button[type="submit"]').click()
        expect(page.locator('#toasts [role="status"]').last).to_contain_text(
            "Video check recorded: Smoke seen"
        )
        # The step comes back over the live stream into the timeline.
        check = timeline.locator('li[data-log-action="video_check"]')
        expect(check).to_contain_text("video check")
        expect(check).to_contain_text("smoke at the 2F window")
        page.goto("about:blank")
    assert not errors, errors
