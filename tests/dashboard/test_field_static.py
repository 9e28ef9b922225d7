"""The field page's files: served under /field/ with a strict policy, naming no other host,
carried by a non-editable install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.field import FIELD_DIR
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p.name for p in FIELD_DIR.iterdir() if p.is_file())
URL = re.compile(r"\b(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)
REFERENCE = re.compile(r"""(?:src|href)="(/[^"]*)"|register\("(/[^"]+)\"""")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))  # static routes need no database


def _url(name: str) -> str:
    return "/field/sw.js" if name == "sw.js" else f"/field/static/{name}"


@pytest.mark.parametrize("name", [f for f in FILES if f != "index.html"])
def test_every_file_is_served_and_names_no_other_host(client: TestClient, name: str) -> None:
    response = client.get(_url(name))
    assert response.status_code == 200, name
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert not URL.findall(response.text), f"{name} refers to another host"


def test_the_page_refers_only_to_files_it_serves() -> None:
    client = TestClient(create_app(Settings()))
    for name in ("index.html", "field.js"):
        for groups in REFERENCE.findall((FIELD_DIR / name).read_text()):
            ref = next(g for g in groups if g)
            assert client.get(ref).status_code == 200, f"{name} refers to {ref}, not served"
    assert not URL.findall((FIELD_DIR / "index.html").read_text())


def test_nothing_outside_the_folder_is_served(client: TestClient) -> None:
    assert client.get("/field/static/%2e%2e/routers/field.py").status_code == 404
    assert client.get("/field/static/nope.js").status_code == 404


def test_a_non_editable_install_carries_every_file() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["api"]
    for name in FILES:
        path = PurePosixPath("field") / name
        assert any(path.match(p) for p in patterns), f"{path} is not in package-data"
