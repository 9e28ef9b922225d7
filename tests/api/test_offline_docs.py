"""/docs and /redoc with no internet: every file they load is ours, and a Chromium that may
reach nothing but the API renders both."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Route, expect, sync_playwright

from api.app import create_app
from firewatch.testing import free_port, serving
from settings import Settings
from tests.dashboard.chromium import CHROMIUM, needs_chromium

PAGES = ("/docs", "/redoc")


class _References(HTMLParser):
    """Every address a page names in an attribute (src, href, spec-url …)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if v and (k in {"src", "href"} or k.endswith("url"))]


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_names_no_other_host_and_its_files_are_served(
    client: TestClient, page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text
    # Nor may a script ask another host: the policy allows this host only.
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "http" not in policy and "*" not in policy
    parser = _References()
    parser.feed(response.text)
    scripts = [ref for ref in parser.found if ref.endswith(".js")]
    assert scripts, "the page loads its viewer from a script of its own"
    for ref in parser.found:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc and ref.startswith("/"), ref
        served = client.get(ref)
        assert served.status_code == 200, ref
    for ref in scripts:
        assert len(client.get(ref).content) > 100_000, f"{ref} is the whole viewer, bundled"


@pytest.fixture()
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield found
        finally:
            found.close()


@needs_chromium
def test_swagger_ui_and_redoc_render_with_every_other_host_unreachable(
    settings: Settings, browser: Browser
) -> None:
    port = free_port()
    ours = f"127.0.0.1:{port}"
    elsewhere: list[str] = []

    def only_ours(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.route("**/*", only_ours)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The policy may refuse ReDoc's own logo from its CDN (an image it hides when it fails),
    # never a script, a style or the API description.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text and "img-src" not in message.text
            else None
        ),
    )
    with serving(create_app(settings), port) as base:
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Firewatch")
        expect(page.locator('.opblock-summary-path[data-path="/api/v1/me"]')).to_be_visible()
        page.goto(f"{base}/redoc")
        summary = "The signed-in user, their role, and the site's time zone"
        expect(page.locator("redoc h2", has_text=summary)).to_be_visible()
        expect(page.locator("redoc h1").first).to_contain_text("Firewatch")
        # Its menu's footer is where ReDoc reaches for its logo; let that happen.
        expect(page.get_by_text("API docs by Redocly")).to_be_visible()
        page.wait_for_load_state("networkidle")
    assert elsewhere == []
    assert errors == [] and refused == []
