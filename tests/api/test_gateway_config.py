"""A device's gateway mapping is part of its config, checked when it is registered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.registry_helpers import Api


def test_a_panel_component_and_its_transmitter_register_with_their_addresses(api: Api) -> None:
    component = api.device(
        "P1",
        "panel",
        config={"gb26875": {"transmitter": "A1B2C3D4E5F6", "system": 1, "component": 17}},
    )
    assert component["config"]["gb26875"] == {
        "transmitter": "A1B2C3D4E5F6",
        "system": 1,
        "component": 17,
    }
    transmitter = api.device("T1", "transmitter", config={"gb26875": {"transmitter": "a1" * 6}})
    assert transmitter["config"]["gb26875"] == {"transmitter": "a1" * 6}


def test_an_nb_iot_detector_registers_with_its_platform_mapping(api: Api) -> None:
    mapping = {"dev_id": "612345678", "streams": {"smoke_state": "smoke", "battery": "battery_pct"}}
    device = api.device("S1", "smoke", config={"onenet": mapping})
    assert device["config"]["onenet"] == mapping


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"gb26875": {"transmitter": "xyz"}}, "transmitter"),
        ({"gb26875": {"transmitter": "a1" * 6, "component": 3}}, "component"),
        ({"gb26875": {"transmitter": "a1" * 6, "system": 256}}, "system"),
        ({"gb26875": {"transmitter": "a1" * 6, "port": 1}}, "port"),
        ({"onenet": {"streams": {}}}, "dev_id"),
        ({"ctwing": {"dev_id": "d", "streams": {"": "smoke"}}}, "streams"),
    ],
)
def test_a_malformed_mapping_is_a_422_naming_the_field(
    api: Api, config: dict[str, Any], names: str
) -> None:
    response = api.as_("technician").post(
        "/api/v1/devices",
        json={"id": f"{api.site}-bad", "kind": "panel", "site": api.site, "config": config},
    )
    assert response.status_code == 422, response.text
    assert names in response.text
