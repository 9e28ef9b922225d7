"""Gateways that cannot run in a partitioned ingest worker are refused, saying what to run."""

from __future__ import annotations

import pytest

from firewatch.processes import local_gateways
from gateways.gb26875.running import SettingsConflict
from settings import Settings


def test_partitioned_ingest_refuses_mapped_mqtt(settings: Settings) -> None:
    """Every worker would take every mapped device's messages."""
    partitioned = settings.model_copy(update={"mapped_mqtt": True, "ingest_workers": 2})
    with pytest.raises(SettingsConflict, match="FIREWATCH_MAPPED_MQTT"):
        local_gateways(partitioned)


def test_partitioned_ingest_refuses_the_panel_server_in_its_process(settings: Settings) -> None:
    partitioned = settings.model_copy(update={"gb26875_port": 5200, "ingest_workers": 2})
    with pytest.raises(SettingsConflict, match="firewatch gateway gb26875"):
        local_gateways(partitioned)
