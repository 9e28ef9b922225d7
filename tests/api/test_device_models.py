"""Device models for mapped MQTT through the API: technicians and admins write them, audited;
what the contract refuses is a 422 naming the field; a model devices name is kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.registry_helpers import Api

URL = "/api/v1/device-models"


def smoke_model(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "smoke",
        "topic": "zigbee2mqtt/{device}",
        "metrics": [{"path": "battery", "metric": "battery_pct"}],
        "events": [
            {"path": "smoke", "equals": True, "event": "alarm"},
            {"path": "smoke", "equals": False, "event": "alarm_cleared"},
            {"path": "tamper", "equals": True, "event": "tamper"},
        ],
        "description": "Zigbee smoke sensor through Zigbee2MQTT",
    }


def test_a_technician_adds_reads_changes_and_removes_a_model(api: Api) -> None:
    name = f"{api.site}-z2m"
    tech = api.as_("technician")
    created = tech.post(URL, json=smoke_model(name))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["subscription"] == "zigbee2mqtt/+" and body["device_count"] == 0
    assert body["events"][0] == {
        "path": "smoke",
        "equals": True,
        "event": "alarm",
        "optional": False,
    }
    assert tech.post(URL, json=smoke_model(name)).status_code == 409
    assert api.as_("viewer").get(f"{URL}/{name}").json()["name"] == name
    page = api.as_("viewer").get(URL, params={"limit": 1000}).json()
    assert name in [m["name"] for m in page["items"]]

    changed = tech.patch(f"{URL}/{name}", json={"time": {"path": "last_seen", "unit": "ms"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["time"] == {
        "path": "last_seen",
        "zone": "UTC",
        "unit": "ms",
        "optional": False,
    }
    assert changed.json()["events"] == body["events"]  # untouched fields stay

    assert tech.delete(f"{URL}/{name}").status_code == 204
    assert tech.get(f"{URL}/{name}").status_code == 404
    audit = tech.get(f"{URL}/{name}/audit").json()
    assert [a["action"] for a in audit] == ["delete", "update", "create"]
    assert audit[1]["detail"]["time"][0] is None


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_technicians_and_admins_write_models(api: Api, role: str) -> None:
    assert api.as_(role).post(URL, json=smoke_model(f"{api.site}-x")).status_code == 403


@pytest.mark.parametrize(
    ("change", "loc", "says"),
    [
        ({"topic": "zigbee2mqtt/+"}, ["topic"], "{device}"),
        ({"topic": "fw/v1/{device}"}, ["topic"], "prefix"),
        ({"metrics": [{"path": "x", "metric": "voltage_v"}]}, ["metrics", "0", "metric"], "smoke"),
        (
            {"metrics": [{"path": "a..b", "metric": "battery_pct"}]},
            ["metrics", "0", "path"],
            "empty",
        ),
        (
            {"events": [{"path": "smoke", "equals": True, "event": "no_such"}]},
            ["events", "0", "event"],
            "smoke devices send",
        ),
        ({"time": {"path": "Time", "zone": "Nowhere/City"}}, ["time", "zone"], "time zone"),
        ({"kind": "video_camera"}, ["kind"], "must be one of"),
        ({"metrics": [], "events": []}, ["metrics"], "at least one"),
    ],
)
def test_what_the_contract_refuses_is_a_422_naming_the_field(
    api: Api, change: dict[str, Any], loc: list[str], says: str
) -> None:
    answer = api.as_("technician").post(URL, json={**smoke_model(f"{api.site}-bad"), **change})
    assert answer.status_code == 422, answer.text
    error = answer.json()["detail"][0]
    assert error["loc"] == ["body", *loc] and says in error["msg"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a b", "kind": "smoke", "topic": "t/{device}"},
        {"kind": "smoke"},
        {"name": "x", "kind": "smoke", "topic": "t/{device}", "metrics": "battery"},
        {"name": "x", "kind": "smoke", "topic": "t/{device}", "metrics": [{"path": 1}]},
        {"name": "x", "kind": "smoke", "topic": "t/\x00{device}"},
        {"name": "x", "kind": "smoke", "topic": "t/{device}", "extra": True},
        {
            "name": "x",
            "kind": "smoke",
            "topic": "t/{device}",
            "metrics": [{"path": "b", "metric": "battery_pct", "scale": "2"}],
        },
    ],
)
def test_malformed_bodies_are_422(api: Api, body: dict[str, Any]) -> None:
    assert api.as_("technician").post(URL, json=body).status_code == 422


def test_a_model_devices_name_is_kept_and_keeps_its_kind(api: Api) -> None:
    name = f"{api.site}-z2m"
    tech = api.as_("technician")
    assert tech.post(URL, json=smoke_model(name)).status_code == 201
    device = api.device("SD1", config={"mqtt": {"model": name, "topic": "kitchen smoke"}})
    assert device["config"]["mqtt"] == {"model": name, "topic": "kitchen smoke"}
    assert tech.get(f"{URL}/{name}").json()["device_count"] == 1

    refused = tech.delete(f"{URL}/{name}")
    assert refused.status_code == 409 and device["id"] in refused.json()["detail"]
    electrical = {
        "kind": "electrical",
        "metrics": [{"path": "ENERGY.Voltage", "metric": "voltage_v"}],
        "events": [],
    }
    kind_change = tech.patch(f"{URL}/{name}", json=electrical)
    assert kind_change.status_code == 409 and "smoke devices" in kind_change.json()["detail"]
    assert tech.patch(f"{URL}/{name}", json={"kind": None}).status_code == 422

    tech.delete(f"/api/v1/devices/{device['id']}")  # decommissioned: no longer names it
    assert tech.delete(f"{URL}/{name}").status_code == 204


@pytest.mark.parametrize(
    ("mqtt", "loc"),
    [
        ({"model": "x", "topic": "a/b"}, "mqtt.topic"),
        ({"model": "x", "topic": "#"}, "mqtt.topic"),
        ({"model": "x y"}, "mqtt.model"),
        ({"model": "x", "login": "a/b"}, "mqtt.login"),
        ({"model": "x", "port": 1}, "mqtt.port"),
        ({"topic": "t"}, "mqtt.model"),
    ],
)
def test_a_devices_mqtt_config_is_checked(api: Api, mqtt: dict[str, Any], loc: str) -> None:
    answer = api.as_("technician").post(
        "/api/v1/devices",
        json={"id": f"{api.site}-D", "kind": "smoke", "site": api.site, "config": {"mqtt": mqtt}},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["detail"][0]
    assert error["loc"] == ["body", "config"] and error["msg"].startswith(f"{loc}: "), error


def test_a_device_names_a_registered_model_of_its_kind(api: Api) -> None:
    name = f"{api.site}-z2m"
    tech = api.as_("technician")
    assert tech.post(URL, json=smoke_model(name)).status_code == 201
    body = {"id": f"{api.site}-E", "kind": "electrical", "site": api.site}
    for mqtt, says in (
        ({"model": f"{api.site}-none"}, "no device model"),
        ({"model": name}, "maps smoke"),
    ):
        answer = tech.post("/api/v1/devices", json={**body, "config": {"mqtt": mqtt}})
        assert answer.status_code == 422, answer.text
        error = answer.json()["detail"][0]
        assert error["loc"] == ["body", "config", "mqtt", "model"] and says in error["msg"]
    device = api.device("SD", config={})
    changed = tech.patch(
        f"/api/v1/devices/{device['id']}", json={"config": {"mqtt": {"model": f"{api.site}-x"}}}
    )
    assert changed.status_code == 422 and "no device model" in changed.json()["detail"][0]["msg"]
    ok = tech.patch(f"/api/v1/devices/{device['id']}", json={"config": {"mqtt": {"model": name}}})
    assert ok.status_code == 200 and ok.json()["config"]["mqtt"] == {"model": name}
