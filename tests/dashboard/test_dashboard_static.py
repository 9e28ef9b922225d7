"""The dashboard's files: served from the API and the installed package, and self-contained."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.dashboard import DASHBOARD_DIR
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p.relative_to(DASHBOARD_DIR).as_posix() for p in DASHBOARD_DIR.rglob("*") if p.is_file()
)
URL = re.compile(r"\b(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)
REFERENCE = re.compile(
    r"""(?:src|href)="([^"#][^"]*)"|from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)"""
)


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Static routes need no database: the app is used without running its lifespan.
    return TestClient(create_app(Settings()))


def test_the_page_is_served_at_the_root_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert '<script type="module" src="/static/js/main.js">' in page.text


@pytest.mark.parametrize("name", FILES)
def test_every_file_is_served_and_names_no_other_host(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200, name
    assert "no-cache" in response.headers["cache-control"]
    assert not URL.findall(response.text), f"{name} refers to another host"
    assert "http://" not in response.text and "https://" not in response.text, name


def test_every_reference_resolves_to_a_served_file(client: TestClient) -> None:
    """A typo in an import would otherwise only show in a browser."""
    for name in ["index.html", *FILES]:
        if not name.endswith((".html", ".js")):
            continue
        base = PurePosixPath("/static") / PurePosixPath(name).parent
        for groups in REFERENCE.findall((DASHBOARD_DIR / name).read_text()):
            ref = next(g for g in groups if g)
            if ref.startswith("data:"):
                continue
            url = ref if ref.startswith("/") else str(base / ref)
            assert client.get(url).status_code == 200, f"{name} refers to {ref}, not served"


def test_nothing_outside_the_folder_is_served(client: TestClient) -> None:
    assert client.get("/static/%2e%2e/app.py").status_code == 404
    assert client.get("/static/js/nope.js").status_code == 404


def test_a_non_editable_install_carries_every_file() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["api"]
    for name in FILES:
        path = PurePosixPath("dashboard") / name
        assert any(path.match(p) for p in patterns), f"{path} is not in package-data"
