"""One settings object, read from ``FIREWATCH_*`` variables when a process starts."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLE_SECRET = "CHANGE-ME"  # noqa: S105 - the placeholder refused, not a secret
# A field photo's hard ceiling: the request guard's limit for its route (api/limits.py).
FIELD_PHOTO_CEILING_BYTES = 16 * 2**20


class Settings(BaseSettings):
    """Defaults point at the PostgreSQL and Mosquitto that run on a developer machine."""

    model_config = SettingsConfigDict(env_prefix="FIREWATCH_", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/firewatch"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    site: str = Field(default="zilai", pattern=r"^[a-z0-9-]{1,32}$")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # Outside development, the example secrets of deploy/ (``CHANGE-ME``) are refused.
    env: Literal["development", "production"] = "production"
    # ``firewatch up`` starts PostgreSQL and a broker here when none is configured or reachable.
    embedded: bool = True
    embedded_dir: str = ".firewatch"
    # JSON lines when stderr is not a terminal (auto), or always one format (firewatch/logs.py).
    log_format: Literal["auto", "json", "text"] = "auto"

    # Ingest: a batch is flushed when it is full or when its first message is this old.
    ingest_client_id: str = "firewatch-ingest"
    # A second session for events only, so alarms overtake a telemetry backlog (ingest/lanes.py).
    ingest_alarm_session: bool = True
    # `firewatch ingest` alone serves /metrics here (0: off); with the API, the API serves them.
    ingest_metrics_port: int = Field(default=9108, ge=0, le=65535)
    ingest_shared_group: str = ""
    # Several workers: worker i of N owns the devices of the buildings hashed to i, subscribing
    # to their topics (ingest/partition.py); worker 0 also dead-letters unregistered ids.
    ingest_workers: int = Field(default=1, ge=1, le=1024)
    ingest_worker_index: int = Field(default=0, ge=0)
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
    # Rejections and unregistered ids are kept this long, and at most this many rows per site
    # (store/bounded.py): a flood of junk must not fill the disk.
    dead_letter_retention_days: int = Field(default=30, ge=1, le=3650)
    dead_letters_max: int = Field(default=100_000, ge=100, le=100_000_000)
    pending_retention_days: int = Field(default=30, ge=1, le=3650)
    pending_max: int = Field(default=10_000, ge=100, le=10_000_000)

    # Alerts: timers run on the server clock every tick.
    engine_tick_s: float = Field(default=1.0, gt=0, le=60)
    engine_warmup_s: int = Field(default=900, ge=0, le=86400)
    correlation_window_s: float = Field(default=120.0, ge=10, le=3600)
    escalate_after_s: int = Field(default=60, ge=5, le=3600)
    escalate_max_level: int = Field(default=3, ge=1, le=10)

    # Gateways (gateways/): how long a gateway waits for ingest to commit what it handed over
    # before it answers its peer that it may send again (no GB/T 26875.3 confirm, an HTTP 503).
    gateway_commit_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # GB/T 26875.3 (gateways/gb26875/): transmission devices connect to this TCP port (0: no
    # server). `firewatch ingest` and `up` run it in their process, `firewatch gateway
    # gb26875` alone (its /metrics on its own port, 0: none). Per connection: closed after
    # idle_timeout_s without a byte, packets longer than max_frame_bytes refused (the
    # standard's largest is 1,054), at most frames_per_s read (a faster peer waits); at most
    # max_connections at once.
    gb26875_port: int = Field(default=0, ge=0, le=65535)
    gb26875_host: str = "0.0.0.0"  # noqa: S104 - transmission devices connect from the network
    gb26875_idle_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    gb26875_max_frame_bytes: int = Field(default=1054, ge=30, le=1054)
    gb26875_frames_per_s: float = Field(default=50.0, gt=0, le=10_000)
    gb26875_max_connections: int = Field(default=5000, ge=1, le=100_000)
    gb26875_metrics_port: int = Field(default=9109, ge=0, le=65535)
    # The networks transmission devices connect from, comma-separated (10.20.0.0/16,
    # 192.0.2.7): the protocol has no login, its network is its authentication. Empty: any.
    gb26875_allow: str = ""
    # Mapped MQTT (gateways/mapped_mqtt.py): ingest's session for devices that publish their
    # own JSON on their device model's topic; it reads the models and devices this often.
    mapped_mqtt: bool = False
    mapped_mqtt_refresh_s: float = Field(default=10.0, ge=0.1, le=3600)
    # NB-IoT platform pushes (api/routers/gateways_onenet.py, gateways_ctwing.py; docs/gateways.md):
    # unset, the route answers 404 naming the setting. OneNET: the push's token (3-32 letters
    # and digits) and, for its secure mode, the EncodingAESKey (43 characters of Base64) it
    # generated. CTWing: the application secret the push is signed with.
    onenet_token: str = Field(default="", pattern=r"^([A-Za-z0-9]{3,32})?$")
    onenet_aes_key: str = Field(default="", pattern=r"^([A-Za-z0-9+/]{43})?$")
    ctwing_app_secret: str = Field(default="", max_length=128)

    # Issue 17, outbound notifications (dispatch/sender.py): this many workers each send one
    # delivery at a time, its row locked until the outcome commits; an idle worker looks again
    # after poll_s unless woken by a new delivery. A failed attempt is retried after backoff_s,
    # doubling up to backoff_max_s, until max_attempts have been made.
    dispatcher_workers: int = Field(default=4, ge=1, le=64)
    dispatcher_poll_s: float = Field(default=1.0, gt=0, le=60)
    dispatcher_timeout_s: float = Field(default=5.0, gt=0, le=60)
    dispatcher_backoff_s: float = Field(default=2.0, gt=0, le=3600)
    dispatcher_backoff_max_s: float = Field(default=300.0, gt=0, le=86400)
    dispatcher_max_attempts: int = Field(default=10, ge=1, le=100)

    # Issue 17, dispatch (dispatch/dispatcher.py, dispatch/field_links.py, the field page):
    # nobody accepted within accept_s, the next person in the zone's call order is notified;
    # the loop looks every tick_s (and at once when an incident is confirmed). Field links
    # last link_ttl_s and are signed with field_link_secret (32+ characters), or unset, with
    # the database's own key; public_url is where phones reach the API (unset: api_host:port).
    dispatch_accept_s: int = Field(default=60, ge=5, le=3600)
    dispatch_tick_s: float = Field(default=1.0, gt=0, le=60)
    field_link_secret: str | None = Field(default=None, min_length=32)
    field_link_ttl_s: int = Field(default=24 * 3600, ge=300, le=30 * 86400)
    public_url: str | None = None
    field_photo_max_bytes: int = Field(
        default=5 * 2**20, ge=64 * 2**10, le=FIELD_PHOTO_CEILING_BYTES
    )
    field_photos_max: int = Field(default=10, ge=1, le=50)
    # Issue 17, review fixes: a field photo's body must have arrived within this many seconds
    # (408 after; no database connection is held meanwhile). The dispatch loop deletes
    # deliveries done (sent, failed, cancelled) this many days ago, and the field's photos,
    # answers, notices and links of incidents resolved this many days ago (dispatch/loop.py).
    field_photo_read_s: float = Field(default=60.0, gt=0, le=600)
    delivery_retention_days: int = Field(default=30, ge=1, le=3650)
    field_retention_days: int = Field(default=400, ge=31, le=3650)

    # Issue 17, rosters (dispatch/on_call.py): shifts are read on this time zone's wall clock.
    site_timezone: str = "Asia/Shanghai"

    @field_validator("site_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(
                f"FIREWATCH_SITE_TIMEZONE: no time zone {value!r}; name one as Asia/Shanghai"
            ) from None
        return value

    @field_validator("gb26875_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in filter(None, (n.strip() for n in value.split(","))):
            try:
                ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"FIREWATCH_GB26875_ALLOW: {network!r} is no network; write 10.20.0.0/16"
                    " or 192.0.2.7, comma-separated"
                ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site_timezone)

    # Issue 17, video (dispatch/ptz.py): a camera moved to a preset must answer within this
    # many seconds, or the operator is told it did not; short, as the operator is waiting.
    camera_timeout_s: float = Field(default=3.0, gt=0, le=30)

    # Issue 21, the plan: the site's street lines as GeoJSON (registry/streets.py), drawn under
    # the buildings; unset, the plan has none.
    streets_file: Path | None = None

    # `firewatch broker sync` writes these and signals the broker whose pid is in the pid file.
    broker_password_file: Path = Path("/etc/mosquitto/firewatch/passwd")
    broker_acl_file: Path = Path("/etc/mosquitto/firewatch/acl")
    broker_pid_file: Path = Path("/run/mosquitto/mosquitto.pid")
    # The broker binds client ids to logins, so sync writes a login per ingest session: the
    # single process's and this many numbered members' (FIREWATCH_INGEST_CLIENT_ID-0, -1, …).
    broker_ingest_members: int = Field(default=16, ge=0, le=1024)

    @property
    def mqtt(self) -> MqttTarget:
        """The broker address, split out of ``mqtt_url`` in this one place. A property, not a
        cached one: ``model_copy(update=...)`` would carry a cached target to the new URL."""
        return MqttTarget(self.mqtt_url)

    @model_validator(mode="after")
    def _retention_outlasts_the_stale_window(self) -> Settings:
        # Ingest accepts messages up to stale_after_s old; their partitions must still exist.
        if self.retention_days * 86400 <= self.stale_after_s + 2 * 86400:
            raise ValueError(
                "FIREWATCH_RETENTION_DAYS must exceed FIREWATCH_STALE_AFTER_S by two days or more"
            )
        return self

    @model_validator(mode="after")
    def _broker_logins_cover_the_workers(self) -> Settings:
        if self.ingest_workers > 1 and self.ingest_workers > self.broker_ingest_members:
            raise ValueError(
                f"FIREWATCH_BROKER_INGEST_MEMBERS ({self.broker_ingest_members}) must be at least "
                f"FIREWATCH_INGEST_WORKERS ({self.ingest_workers}): 'firewatch broker sync' "
                "writes a broker login for each worker's session"
            )
        return self

    @model_validator(mode="after")
    def _worker_index_in_range(self) -> Settings:
        if self.ingest_worker_index >= self.ingest_workers:
            raise ValueError(
                f"FIREWATCH_INGEST_WORKER_INDEX must be below FIREWATCH_INGEST_WORKERS "
                f"({self.ingest_workers}): workers are numbered 0..{self.ingest_workers - 1}"
            )
        return self

    @model_validator(mode="after")
    def _no_example_secrets(self) -> Settings:
        if self.env != "development":
            for name, value in self:
                if isinstance(value, str) and EXAMPLE_SECRET in value.upper():
                    raise ValueError(
                        f"FIREWATCH_{name.upper()} still holds the example secret {EXAMPLE_SECRET}:"
                        " set a real one (FIREWATCH_ENV=development accepts it)"
                    )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("FIREWATCH_PUBLIC_URL must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url_is_mqtt(cls, value: str) -> str:
        try:
            MqttTarget(value)
        except ValueError:
            raise ValueError(
                "FIREWATCH_MQTT_URL must look like mqtt://[user:password@]host[:port], or list a "
                "cluster's nodes to fail over across: mqtt://[user:password@]n1:1883,n2:1883"
            ) from None
        return value


class MqttTarget:
    """The broker address split out of ``FIREWATCH_MQTT_URL``: one broker, or a cluster's nodes
    (``mqtt://n1:1883,n2:1883,n3:1883``, credentials once) that clients fail over across
    (contract/failover.py). ``host`` and ``port`` are the first address. Raises ValueError."""

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        if scheme != "mqtt" or not sep:
            raise ValueError(f"not an mqtt:// URL: {url!r}")
        netloc = rest.split("/", 1)[0]
        login, _, hosts = netloc.rpartition("@")
        self.addresses: list[tuple[str, int]] = []
        for node in hosts.split(","):
            parts = urlsplit(f"mqtt://{node}")
            if not parts.hostname:
                raise ValueError(f"no host in {node!r} of the MQTT URL")
            self.addresses.append((parts.hostname, parts.port or 1883))  # port: ValueError
        self.host, self.port = self.addresses[0]
        # Percent-decoded, so a password may hold any character ('@' as %40).
        user, colon, password = login.partition(":")
        self.username: str | None = unquote(user) if user else None
        self.password: str | None = unquote(password) if colon and password else None
