"""One settings object, read from ``FIREWATCH_*`` variables when a process starts."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults point at the PostgreSQL and Mosquitto that run on a developer machine."""

    model_config = SettingsConfigDict(env_prefix="FIREWATCH_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/firewatch"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    site: str = Field(default="zilai", pattern=r"^[a-z0-9-]{1,32}$")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)

    # Ingest: a batch is flushed when it is full or when its first message is this old.
    ingest_client_id: str = "firewatch-ingest"
    ingest_shared_group: str = ""
    ingest_batch_max: int = Field(default=5000, ge=1, le=16000)
    ingest_batch_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024 * 1024)
    ingest_batch_wait_ms: int = Field(default=50, ge=1, le=5000)
    ingest_mqtt5: bool = False
    ingest_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=60)
    stale_after_s: int = Field(default=7 * 24 * 3600, ge=60)
    future_tolerance_s: int = Field(default=300, ge=0)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    max_frame_bytes: int = Field(default=1024 * 1024, ge=1024)
    retention_days: int = Field(default=400, ge=8)

    # Alerts: timers run on the server clock every tick.
    engine_tick_s: float = Field(default=1.0, gt=0, le=60)
    engine_warmup_s: int = Field(default=900, ge=0, le=86400)
    correlation_window_s: float = Field(default=120.0, ge=10, le=3600)
    escalate_after_s: int = Field(default=60, ge=5, le=3600)
    escalate_max_level: int = Field(default=3, ge=1, le=10)
    webhook_url: str | None = None
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _retention_outlasts_the_stale_window(self) -> Settings:
        # Ingest accepts messages up to stale_after_s old; their partitions must still exist.
        if self.retention_days * 86400 <= self.stale_after_s + 2 * 86400:
            raise ValueError(
                "FIREWATCH_RETENTION_DAYS must exceed FIREWATCH_STALE_AFTER_S by two days or more"
            )
        return self

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_http(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("FIREWATCH_WEBHOOK_URL must be an http:// or https:// URL")
        return value or None

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url_is_mqtt(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError("FIREWATCH_MQTT_URL must look like mqtt://[user:password@]host[:port]")
        return value


class MqttTarget:
    """The broker address split out of ``FIREWATCH_MQTT_URL``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host: str = parts.hostname or "127.0.0.1"
        self.port: int = parts.port or 1883
        self.username: str | None = parts.username
        self.password: str | None = parts.password
