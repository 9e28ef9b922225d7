"""The wall's files: served at /wall under the console's strict policy, naming no other host,
every import resolving (the console's modules included), carried by a non-editable install; its
words in both languages, and every key it uses present, its own and the console's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.wall import WALL_DIR
from settings import Settings
from tests.dashboard.layout import LANGUAGES, catalogue

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p.relative_to(WALL_DIR).as_posix() for p in WALL_DIR.rglob("*") if p.is_file())
CODE = sorted((WALL_DIR / "js").glob("*.js"))
PAGE = (WALL_DIR / "index.html").read_text()
URL = re.compile(r"\b(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)
REFERENCE = re.compile(r"""(?:src|href)="([^"#][^"]*)"|from\s+"([^"]+)\"""")
ENTRY = re.compile(r'^\s*"([\w.]+)": "(.*)",$', re.MULTILINE)
PLACEHOLDER = re.compile(r"\{(\w+)\}")
KEY = re.compile(r'"([a-z][A-Za-z0-9]*\.[A-Za-z0-9_]+)"')
LABEL = re.compile(r'\blabel\("(\w+)", "(\w+)"\)')


def _wall_words() -> dict[str, dict[str, str]]:
    """The two tables of api/wall/js/text.js, as written."""
    text = (WALL_DIR / "js" / "text.js").read_text(encoding="utf-8")
    zh, en = text.split('"zh-CN": {', 1)[1].split('"en": {', 1)
    return {"zh-CN": dict(ENTRY.findall(zh)), "en": dict(ENTRY.findall(en.split("};")[0]))}


WORDS = _wall_words()


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))  # static routes need no database


def test_the_page_is_served_at_wall_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/wall")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="/wall/static/js/wall.js">' in page.text


@pytest.mark.parametrize("name", FILES)
def test_every_file_is_served_and_names_no_other_host(client: TestClient, name: str) -> None:
    response = client.get(f"/wall/static/{name}")
    assert response.status_code == 200, name
    assert "no-cache" in response.headers["cache-control"]
    assert not URL.findall(response.text), f"{name} refers to another host"


def test_every_reference_resolves_to_a_served_file(client: TestClient) -> None:
    """The wall imports the console's modules by their absolute paths: a rename there shows here."""
    for name in FILES:
        if not name.endswith((".html", ".js")):
            continue
        base = PurePosixPath("/wall/static") / PurePosixPath(name).parent
        for groups in REFERENCE.findall((WALL_DIR / name).read_text()):
            ref = next(g for g in groups if g)
            if ref.startswith("data:"):
                continue
            url = ref if ref.startswith("/") else str(base / ref)
            assert client.get(url).status_code == 200, f"{name} refers to {ref}, not served"


def test_nothing_outside_the_folder_is_served(client: TestClient) -> None:
    assert client.get("/wall/static/%2e%2e/routers/wall.py").status_code == 404
    assert client.get("/wall/static/js/nope.js").status_code == 404


def test_a_non_editable_install_carries_every_file() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["api"]
    for name in FILES:
        path = PurePosixPath("wall") / name
        assert any(path.match(p) for p in patterns), f"{path} is not in package-data"


def test_the_wall_words_have_the_same_keys_and_placeholders_in_both_languages() -> None:
    assert len(WORDS["zh-CN"]) > 10  # the tables were read
    assert sorted(set(WORDS["zh-CN"]) ^ set(WORDS["en"])) == []
    for key, zh in WORDS["zh-CN"].items():
        en = WORDS["en"][key]
        assert set(PLACEHOLDER.findall(zh)) == set(PLACEHOLDER.findall(en)), key
        assert zh.strip() and en.strip(), key


def test_every_word_the_wall_uses_is_there_and_every_one_is_used() -> None:
    """A key is a literal `group.name` in the code, or one the page names; each is the wall's own
    or the console's, and every one of the wall's own is used."""
    code = "\n".join(p.read_text() for p in CODE)
    used = {k for k in KEY.findall(code) if not k.startswith("firewatch.")}
    used |= set(re.findall(r'data-(?:say|say-label|i18n)="([\w.]+)"', PAGE))
    used |= {f"{group}.{name}" for group, name in LABEL.findall(code)}
    own = set(WORDS["zh-CN"])
    assert sorted(own - used) == [], "in the wall's words, used nowhere"
    for lang in LANGUAGES:
        assert sorted(used - own - set(catalogue(lang))) == [], f"neither the wall's nor {lang}'s"
