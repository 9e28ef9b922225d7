"""A real browser on the real dashboard: an operator signs in, a smoke detector's alarm goes
over MQTT through ingest and the stream to the screen as an incident, the operator works it;
one fire of several signals is one card; then the API goes away and comes back, and the
dashboard says so and misses nothing. In English (the console's second language), as the
assertions read its words; tests/dashboard/test_console_layout_browser.py covers both."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from playwright.sync_api import Page, Request, expect, sync_playwright

from api.app import create_app
from contract.frames import encode_frame
from contract.kinds import Kind
from contract.topics import Channel, topic_for
from firewatch.testing import free_port, serving, wait_until
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from store.users import add_user
from tests.dashboard.chromium import CHROMIUM, needs_chromium
from tests.dashboard.layout import IN_ENGLISH
from tests.ingest.helpers import running

pytestmark = needs_chromium

# Two buildings 60 m apart, with smoke detectors; an electrical monitor and a camera.
BUILDINGS = [("B1", 23.09700, 113.26500), ("B2", 23.09700, 113.26560)]
DEVICES = [
    ("SD-A", "smoke", "B1", 23.09701, 113.26501),
    ("SD-C", "smoke", "B1", 23.09702, 113.26502),
    ("SD-B", "smoke", "B2", 23.09701, 113.26561),
    ("EF-A", "electrical", "B1", 23.09699, 113.26499),
    ("TC-A", "thermal_camera", "B2", 23.09699, 113.26559),
]


# An alarm reaches the screen in well under a second; the margin is for a loaded CI machine.
LIVE_MS = 20_000


def _token(database_url: str, name: str, role: str) -> str:
    async def go() -> str:
        conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        async with conn:
            return await add_user(conn, name=name, role=role)

    # Playwright's sync API keeps an event loop running in this thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _call(base: str, token: str, method: str, path: str, body: object = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _register(base: str, token: str, site: str) -> None:
    """As a technician would: the buildings first, then their devices."""
    for building, lat, lon in BUILDINGS:
        _call(
            base,
            token,
            "POST",
            "/api/v1/buildings",
            {"id": f"{site}-{building}", "lat": lat, "lon": lon},
        )
    for device_id, kind, building, lat, lon in DEVICES:
        _call(
            base,
            token,
            "POST",
            "/api/v1/devices",
            {
                "id": f"{site}-{device_id}",
                "kind": kind,
                "site": site,
                "building": f"{site}-{building}",
                "lat": lat,
                "lon": lon,
            },
        )


def _status(base: str, token: str, path: str) -> int:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _frame(settings: Settings, device_id: str) -> None:
    """One thermal frame with a 80 °C patch: a hot spot, too brief for an alert."""
    temps = np.full((24, 32), 24.0)
    temps[10:13, 14:18] = 80.0
    frame = encode_frame(temps, ts=int(time.time() * 1000), seq=1)
    with Publisher(settings.mqtt, client_id=f"pub-{device_id}") as pub:
        pub.publish(topic_for(settings.site, f"{settings.site}-{device_id}", Channel.FRAME), frame)


def _event(settings: Settings, device_id: str, event_type: str, kind: Kind = Kind.SMOKE) -> float:
    """A device's own event (a detector's alarm, a fault), published at QoS 1; returns when it
    was sent."""
    device = SimDevice(f"{settings.site}-{device_id}", kind, settings.site)
    with Publisher(settings.mqtt, client_id=f"pub-{device.id}") as pub:
        sent = time.monotonic()
        pub.publish(*device.event(datetime.now(UTC), event_type))
    return sent


def _alarm(settings: Settings, device_id: str) -> float:
    return _event(settings, device_id, "alarm")


def _hot(settings: Settings, device_id: str) -> None:
    """A smoke detector's reading at 95 °C: its heat element's fixed threshold (57 °C)."""
    detector = SimDevice(f"{settings.site}-{device_id}", Kind.SMOKE, settings.site)
    with Publisher(settings.mqtt, client_id=f"pub-{detector.id}") as pub:
        pub.publish(*detector.reading(datetime.now(UTC), temperature_c=95.0))


def _sign_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")


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


def test_an_operator_sees_a_fire_arrive_live_and_acknowledges_it(
    settings: Settings, database_url: str, browser_page: Page, tmp_path: Path
) -> None:
    site, page = settings.site, browser_page
    technician = _token(database_url, f"tech-{site}", "technician")
    operator_name = f"night-{site}"
    operator = _token(database_url, operator_name, "operator")
    port = free_port()
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))  # noqa: PLW0108 (Playwright tags it)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    with running(settings), serving(create_app(settings), port) as base:
        _register(base, technician, site)
        _frame(settings, "TC-A")
        wait_until(
            lambda: _status(base, operator, f"/api/v1/devices/{site}-TC-A/frame.png") == 200,
            timeout=LIVE_MS / 1000,
            what="the camera's frame to be stored",
        )

        _sign_in(page, base, operator)
        expect(page.locator("#list-empty")).to_be_visible()
        expect(page.locator("#class-filters .chip-fire")).to_have_attribute("data-count", "0")
        page.click("#sound")  # browsers allow sound only after a gesture
        expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")

        def lists() -> int:
            return sum(
                "/api/v1/alerts?" in r.url or "/api/v1/incidents?" in r.url for r in requests
            )

        lists_before = lists()
        sent = _alarm(settings, "SD-A")
        card = page.locator(f'#incident-list .incident[data-building="{site}-B1"]')
        expect(card).to_have_attribute("data-state", "active_unack", timeout=LIVE_MS)
        print(f"\nalarm published -> fire incident on screen: {time.monotonic() - sent:.2f} s")
        assert lists() == lists_before, (
            "the incident must come over the live stream, not a reload of the lists"
        )
        expect(card).to_have_attribute("data-class", "fire")
        expect(card).to_contain_text(f"Building {site}-B1")
        expect(page.locator("#class-filters .chip-fire")).to_have_attribute("data-count", "1")
        expect(card.locator('[data-role="state"]')).to_have_text("NEW · unacknowledged")
        expect(page.locator("#sound")).to_have_attribute("data-sounding", "fire")
        # A fire is never shelved: the card does not even offer it.
        expect(card.locator('[data-action="shelve"]')).to_have_count(0)

        card.locator('[data-action="ack"]').click()
        expect(card).to_have_attribute("data-state", "active_ack")
        expect(card).to_contain_text(f"acknowledged by {operator_name}")
        expect(card.locator('[data-action="ack"]')).to_have_count(0)
        expect(page.locator("#sound")).to_have_attribute("data-sounding", "off")
        incident_id = card.get_attribute("data-id")
        stored = _call(base, operator, "GET", f"/api/v1/incidents/{incident_id}")["incident"]
        assert (stored["state"], stored["acked_by"]) == ("active_ack", operator_name)
        [signal] = stored["signals"]
        alert = _call(base, operator, "GET", f"/api/v1/alerts/{signal['alert_id']}")["alert"]
        assert (alert["state"], alert["acked_by"]) == ("active_ack", operator_name)

        card.locator('[data-action="claim"]').click()
        expect(card.locator('[data-role="claimed"]')).to_have_text(
            f"Handled by you ({operator_name})"
        )

        shot = tmp_path / "dashboard-fire-acknowledged.png"
        # The overview follows the stream within seconds: the timeline counts the fire.
        expect(page.locator("#timeline")).to_have_attribute("aria-label", re.compile(r"\b1 Fire"))
        expect(page.locator('#status [data-role="incidents-10min"]')).to_have_text("1")
        page.screenshot(path=str(shot))
        print(f"screenshot: {shot}")

        # The incident's timeline names the operator; its signal leads to its single alert.
        card.locator('[data-action="details"]').click()
        # The incident's timeline: the drawer also lists the cameras, as a list of its own.
        expect(page.locator("#drawer .timeline-log")).to_contain_text(
            f"incident · {operator_name} · acknowledged"
        )
        page.locator('#drawer [data-action="signal"]').click()
        expect(page.locator("#drawer-title")).to_contain_text("smoke alarm")
        expect(page.locator("#drawer .log")).to_contain_text(f"{operator_name} · acknowledged")
        page.locator('#drawer [data-action="incident"]').click()
        expect(page.locator("#drawer-title")).to_contain_text(f"Building {site}-B1")
        page.click("#drawer-close")

        card.locator('[data-action="resolve"]').click()
        page.locator("#action-dialog").get_by_label("Test").check()
        page.fill("#resolve-note", "detector tested by the building manager")
        page.locator("#action-dialog").get_by_role("button", name="Confirm").click()
        expect(card).to_have_attribute("data-state", "resolved")
        expect(page.locator("#class-filters .chip-fire")).to_have_attribute("data-count", "0")
        stored = _call(base, operator, "GET", f"/api/v1/incidents/{incident_id}")["incident"]
        assert (stored["state"], stored["cause"]) == ("resolved", "test")
        alert = _call(base, operator, "GET", f"/api/v1/alerts/{signal['alert_id']}")["alert"]
        assert (alert["state"], alert["cause"]) == ("resolved", "test")

        # A refusal (409) reaches the operator in the server's words, e.g. from a stale screen.
        page.evaluate(
            "async (id) => (await import('/static/js/actions.js')).actOnIncident({ id }, 'ack')",
            int(incident_id or 0),
        )
        refusal = page.locator('#toasts [role="alert"]')
        expect(refusal).to_contain_text(
            f"Could not acknowledge: cannot ack incident {incident_id}, which is resolved"
        )

        # The camera's hot spot opens its drawer: the readings chart and the heat map.
        page.locator("#status .hot-spots button", has_text=f"{site}-TC-A").click()
        expect(page.locator("#drawer-title")).to_have_text(f"Device {site}-TC-A")
        chart = page.locator("#drawer canvas.chart")
        expect(chart).to_have_attribute("aria-label", re.compile(r"^frame_max_temp_c: 1 bucket"))
        heatmap = page.locator("#drawer img.heatmap")
        expect(heatmap).to_be_visible()
        assert heatmap.evaluate("img => img.complete && img.naturalWidth") > 0  # a decoded PNG
        page.goto("about:blank")  # leave before the API stops, so no stream is cut off
    assert not errors, errors


def test_one_fire_is_one_card_and_a_higher_class_brings_it_back(
    settings: Settings, database_url: str, browser_page: Page
) -> None:
    """Building B1: an electrical pre-alarm, acknowledged; then a detector's fire alarm joins
    (the card calls again), its heat element too (acknowledged with the card: same class, same
    device), and a second detector confirms the fire (the card calls again). One card, whose
    acknowledgement acknowledges every signal."""
    site, page = settings.site, browser_page
    technician = _token(database_url, f"tech-{site}", "technician")
    operator_name = f"op-{site}"
    operator = _token(database_url, operator_name, "operator")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    with running(settings), serving(create_app(settings), free_port()) as base:
        _register(base, technician, site)
        _sign_in(page, base, operator)
        page.click("#sound")
        expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")
        cards = page.locator("#incident-list .incident")
        card = page.locator(f'#incident-list .incident[data-building="{site}-B1"]')
        sounding = page.locator("#sound")

        _event(settings, "EF-A", "alarm", Kind.ELECTRICAL)
        expect(card).to_have_attribute("data-class", "prealarm", timeout=LIVE_MS)
        expect(card).to_have_attribute("data-state", "active_unack")
        expect(sounding).to_have_attribute("data-sounding", "off")  # a pre-alarm chimes once
        card.locator('[data-action="ack"]').click()
        expect(card).to_have_attribute("data-state", "active_ack")

        _alarm(settings, "SD-A")
        expect(card).to_have_attribute("data-class", "fire", timeout=LIVE_MS)
        expect(card).to_have_attribute("data-state", "active_unack")
        expect(sounding).to_have_attribute("data-sounding", "fire")
        expect(card).to_contain_text(f"was acknowledged by {operator_name}")
        expect(card.locator('[data-action="signals"]')).to_have_text("Signals (2)")
        card.locator('[data-action="ack"]').click()
        expect(card).to_have_attribute("data-state", "active_ack")
        expect(sounding).to_have_attribute("data-sounding", "off")

        _hot(settings, "SD-A")
        expect(card.locator('[data-action="signals"]')).to_have_text("Signals (3)", timeout=LIVE_MS)
        expect(card).to_have_attribute("data-state", "active_ack")
        expect(card).to_have_attribute("data-confirmed", "false")
        expect(sounding).to_have_attribute("data-sounding", "off")

        _alarm(settings, "SD-C")
        expect(card).to_have_attribute("data-confirmed", "true", timeout=LIVE_MS)
        expect(card).to_have_attribute("data-state", "active_unack")
        expect(card.locator('[data-role="confirmed"]')).to_be_visible()
        expect(card.locator('[data-role="counts"]')).to_have_text("4 signals from 3 devices")
        expect(sounding).to_have_attribute("data-sounding", "fire")
        expect(cards).to_have_count(1)
        expect(page.locator("#plan")).to_have_attribute(
            "data-incidents", f"{site}-B1 fire unacknowledged"
        )
        expect(page.locator("#plan")).to_have_attribute(
            "aria-label", re.compile(rf"open incidents: {site}-B1 Fire unacknowledged$")
        )

        card.locator('[data-action="ack"]').click()
        expect(card).to_have_attribute("data-state", "active_ack")
        expect(sounding).to_have_attribute("data-sounding", "off")
        incident_id = int(card.get_attribute("data-id") or 0)
        stored = _call(base, operator, "GET", f"/api/v1/incidents/{incident_id}")["incident"]
        assert (stored["class"], stored["state"], stored["confirmed"]) == (
            "fire",
            "active_ack",
            True,
        )
        assert sorted((s["device_id"], s["rule"]) for s in stored["signals"]) == [
            (f"{site}-EF-A", "electrical_alarm"),
            (f"{site}-SD-A", "heat_fixed"),
            (f"{site}-SD-A", "smoke_alarm"),
            (f"{site}-SD-C", "smoke_alarm"),
        ]
        open_alerts = _call(base, operator, "GET", "/api/v1/alerts?open=true")
        assert (
            sorted((a["incident_id"], a["state"], a["acked_by"]) for a in open_alerts)
            == [(incident_id, "active_ack", operator_name)] * 4
        )

        # Each signal is a way into its single alert, for the technicians.
        card.locator('[data-action="signals"]').click()
        expect(card.locator(".signal")).to_have_count(4)
        card.locator('.signal [data-action="signal"]', has_text="heat fixed").click()
        expect(page.locator("#drawer-title")).to_contain_text("heat fixed")
        expect(page.locator("#drawer .log")).to_contain_text("engine · acknowledged")  # carried
        page.click("#drawer-close")

        # Trouble is no incident: the technicians' tab holds it.
        _event(settings, "SD-B", "fault")
        expect(page.locator("#class-filters .chip-trouble")).to_have_attribute(
            "data-count", "1", timeout=LIVE_MS
        )
        expect(cards).to_have_count(1)
        page.locator('#list-tabs [data-tab="alerts"]').click()
        fault = page.locator(f'#alert-list .alert[data-class="trouble"]:has-text("{site}-SD-B")')
        expect(fault).to_be_visible()
        expect(page.locator("#incident-list")).to_be_hidden()
        expect(page.locator("#alert-list .alert")).to_have_count(1)
        page.goto("about:blank")
    assert not errors, errors


def test_the_indicator_turns_red_when_the_stream_drops_and_nothing_is_missed(
    settings: Settings, database_url: str, browser_page: Page
) -> None:
    site, page = settings.site, browser_page
    technician = _token(database_url, f"tech-{site}", "technician")
    operator = _token(database_url, f"op-{site}", "operator")
    port = free_port()
    streams: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: streams.append(r.headers) if "/api/v1/alerts/stream" in r.url else None,
    )

    with running(settings):
        with serving(create_app(settings), port) as base:
            _register(base, technician, site)
            _sign_in(page, base, operator)
            _alarm(settings, "SD-A")
            expect(page.locator(f'.incident[data-building="{site}-B1"]')).to_have_count(
                1, timeout=LIVE_MS
            )

        # The API is gone while ingest keeps storing: the indicator says so.
        expect(page.locator("#connection")).to_have_attribute("data-status", "down")
        expect(page.locator("#connection")).to_contain_text("Stream down")
        _alarm(settings, "SD-B")

        with serving(create_app(settings), port):
            # The dashboard retries with a growing delay, at most 15 s.
            expect(page.locator("#connection")).to_have_attribute(
                "data-status", "live", timeout=30_000
            )
            b2 = page.locator(f'.incident[data-class="fire"][data-building="{site}-B2"]')
            expect(b2).to_have_count(1, timeout=LIVE_MS)
            page.goto("about:blank")
    assert streams[0].get("last-event-id") is None
    assert streams[-1].get("last-event-id"), "the reconnect must say where it left off"
