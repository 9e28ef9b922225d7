"""NUL and lone surrogates are refused with a 422 wherever a client puts them: body fields at
any depth, query strings and paths. Each once reached the store or the answer as a 500."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from contract.alarms import AlertClass, Rule
from contract.text import check_json, text_problem
from settings import Settings
from tests.api.alert_helpers import raise_alert
from tests.api.registry_helpers import Api

JSON = {"Content-Type": "application/json"}
_numbers = itertools.count()
# Hypothesis leaves surrogates out of text by default; these are the strings clients can send.
CHARS = st.characters() | st.characters(categories=["Cs"]) | st.just("\x00")
TEXT = st.text(CHARS)


@pytest.fixture()
def api(settings: Settings, database_url: str, site: str) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client, database_url, site)


def _refused(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    [error] = [e for e in response.json()["detail"] if e["loc"][-1] == field]
    return str(error["msg"])


def test_a_lone_surrogate_in_a_user_name_is_a_422(api: Api) -> None:
    raw = b'{"name": "\\ud800", "role": "viewer"}'
    response = api.as_("admin").post("/api/v1/users", content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


def test_a_lone_surrogate_in_free_text_is_a_422_naming_it(api: Api) -> None:
    raw = b'{"id": "%s-B1", "name": "Lane \\udc00 3"}' % api.site.encode()
    response = api.as_("technician").post("/api/v1/buildings", content=raw, headers=JSON)
    assert "lone surrogate U+DC00 at position 5" in _refused(response, "name")


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("ack", {"note": "on\x00site"}, "note"),
        ("comment", {"text": "crew\x00sent"}, "text"),
        ("resolve", {"cause": "false_alarm", "note": "\x00"}, "note"),
    ],
)
def test_a_nul_in_an_operator_note_is_a_422_and_the_alarm_can_still_be_acknowledged(
    api: Api, db: psycopg.Connection[Any], action: str, body: dict[str, str], field: str
) -> None:
    device = api.device("SD1")["id"]
    alert = raise_alert(db, device, Rule.SMOKE_ALARM, AlertClass.FIRE, site=api.site)
    operator = api.as_("operator")
    refused = operator.post(f"/api/v1/alerts/{alert}/{action}", json=body)
    assert "NUL character (U+0000)" in _refused(refused, field)
    acked = operator.post(f"/api/v1/alerts/{alert}/ack", json={"note": "on site"})
    assert acked.status_code == 200 and acked.json()["state"] == "active_ack"


@pytest.mark.parametrize("media", ["json", "csv"])
def test_a_nul_in_an_imported_building_is_reported_on_its_row(api: Api, media: str) -> None:
    row = {"id": f"{api.site}-SD1", "kind": "smoke", "site": api.site, "building": "B\x00-1"}
    tech = api.as_("technician")
    if media == "json":
        response = tech.post("/api/v1/devices/import", json={"devices": [row]})
    else:
        csv = "id,kind,site,building\n" + ",".join(row.values()) + "\n"
        response = tech.post(
            "/api/v1/devices/import", content=csv.encode(), headers={"Content-Type": "text/csv"}
        )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["section"], error["field"]) == ("devices", "building")
    assert "NUL" in error["reason"]


def test_a_nul_deep_inside_a_config_is_a_422(api: Api) -> None:
    body = {
        "id": f"{api.site}-TC1",
        "kind": "thermal_camera",
        "site": api.site,
        "config": {"thermal": {"regions": [{"name": "roof\x00"}]}},
    }
    response = api.as_("technician").post("/api/v1/devices", json=body)
    assert "NUL" in _refused(response, "config")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/devices?q=a%00b",
        "/api/v1/alerts?building=%00",
        "/api/v1/devices/SD%00-1",
        "/api/v1/buildings/B-1%00/",
        "/healthz?x%00=1",
    ],
)
def test_a_nul_in_the_query_or_the_path_is_a_422(api: Api, url: str) -> None:
    response = api.as_("viewer").get(url)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"][0] in ("query", "path") and "NUL" in error["msg"]


@given(TEXT)
def test_text_problem_refuses_exactly_what_utf8_or_postgresql_cannot_hold(value: str) -> None:
    try:
        value.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    assert (text_problem(value) is None) == (encodable and "\x00" not in value)


@given(st.recursive(TEXT, lambda inner: st.lists(inner) | st.dictionaries(TEXT, inner)))
def test_check_json_finds_a_bad_string_at_any_depth(value: Any) -> None:
    def strings(v: Any) -> Iterator[str]:
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for k, item in v.items():
                yield k
                yield from strings(item)
        elif isinstance(v, list):
            for item in v:
                yield from strings(item)

    clean = all(text_problem(s) is None for s in strings(value))
    try:
        check_json(value)
        accepted = True
    except ValueError:  # PydanticCustomError is a ValueError
        accepted = False
    assert accepted == clean


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(CHARS, max_size=60), address=st.text(CHARS, max_size=60))
def test_any_text_in_a_body_is_stored_or_refused_never_a_500(
    api: Api, name: str, address: str
) -> None:
    """Encoded as JSON escapes (ASCII), so lone surrogates reach the server as they would from
    any client; whatever arrives is either stored exactly or refused with a 422."""
    building = f"{api.site}-B{next(_numbers)}"
    raw = json.dumps({"id": building, "name": name, "address": address}).encode()
    response = api.as_("technician").post("/api/v1/buildings", content=raw, headers=JSON)
    clean = text_problem(name) is None and text_problem(address) is None
    assert response.status_code == (201 if clean else 422), response.text
    if clean:
        assert (response.json()["name"], response.json()["address"]) == (name, address)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "yesterday"])
def test_a_timestamp_must_be_a_date_time(api: Api, value: str) -> None:
    """The schema says date-time: seconds since 1970 are not one, however pydantic reads them."""
    for url in ("/api/v1/alerts", "/api/v1/reports/shift"):
        response = api.as_("viewer").get(url, params={"to": value})
        assert response.status_code == 422, response.text
    assert (
        api.as_("viewer")
        .get("/api/v1/alerts", params={"to": "2026-11-29T08:00:00+08:00"})
        .is_success
    )
