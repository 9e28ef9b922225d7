"""The example environments of deploy/ hold placeholders that production must not run with."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _env(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {key: value for key, value in pairs}


def _compose_settings() -> dict[str, str]:
    """What compose.yaml hands the services, from .env.example as it ships."""
    env = _env(DEPLOY / "compose" / ".env.example")
    return {
        "database_url": f"postgresql://firewatch:{env['POSTGRES_PASSWORD']}@db:5432/firewatch",
        "mqtt_url": f"mqtt://svc.ingest:{env['MQTT_INGEST_PASSWORD']}@mosquitto:1883",
    }


def test_every_secret_of_the_compose_example_is_a_placeholder() -> None:
    env = _env(DEPLOY / "compose" / ".env.example")
    secrets = {k: v for k, v in env.items() if "PASSWORD" in k}
    assert secrets
    assert all(value.startswith("CHANGE-ME") for value in secrets.values()), secrets


@pytest.mark.parametrize("field", ["database_url", "mqtt_url"])
def test_production_refuses_the_compose_examples(field: str) -> None:
    value = _compose_settings()[field]
    with pytest.raises(ValidationError, match=f"FIREWATCH_{field.upper()} still holds"):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_production_refuses_the_systemd_example() -> None:
    env = _env(DEPLOY / "firewatch.env.example")
    with pytest.raises(ValidationError, match="example secret"):
        Settings(database_url=env["FIREWATCH_DATABASE_URL"])


def test_development_accepts_them_and_real_secrets_pass_everywhere() -> None:
    Settings(env="development", **_compose_settings())  # type: ignore[arg-type]
    Settings(database_url="postgresql://firewatch:s3cret@db:5432/firewatch", env="production")


def test_the_environment_variable_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREWATCH_MQTT_URL", _compose_settings()["mqtt_url"])
    monkeypatch.setenv("FIREWATCH_ENV", "production")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("FIREWATCH_ENV", "development")
    assert Settings().env == "development"
