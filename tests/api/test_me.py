"""GET /api/v1/me: who the token belongs to, and the site's clock, for every role."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.api.registry_helpers import ROLES, Api
from tests.tokens import auth


def test_every_role_learns_its_name_role_and_the_sites_beijing_clock(api: Api) -> None:
    for role in ROLES:
        response = api.as_(role).get("/api/v1/me")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "name": f"{role}-{api.site}",
            "role": role,
            "token_expires_at": None,
            "site": api.site,
            "site_timezone": "Asia/Shanghai",
            "site_utc_offset": "+08:00",
        }


@pytest.mark.parametrize(
    ("zone", "offset"), [("Asia/Kolkata", "+05:30"), ("UTC", "+00:00"), ("America/St_Johns", None)]
)
def test_the_zone_and_its_offset_follow_the_setting(
    settings: Settings, api: Api, zone: str, offset: str | None
) -> None:
    with TestClient(create_app(settings.model_copy(update={"site_timezone": zone}))) as client:
        body = client.get("/api/v1/me", headers=auth(api.tokens["viewer"])).json()
    assert body["site_timezone"] == zone
    # A zone with summer time: one of its two offsets, which a parser reads back as such.
    expected = {offset} if offset else {"-03:30", "-02:30"}
    assert body["site_utc_offset"] in expected
    parsed = datetime.fromisoformat("2026-01-01T00:00:00" + body["site_utc_offset"])
    assert parsed.utcoffset() == datetime.now(ZoneInfo(zone)).utcoffset()


def test_no_token_or_an_unknown_one_is_a_401_saying_how_to_get_one(client: TestClient) -> None:
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401 and "firewatch users add" in missing.json()["detail"]
    unknown = client.get("/api/v1/me", headers=auth("fw_nobody"))
    assert unknown.status_code == 401 and "unknown" in unknown.json()["detail"]
