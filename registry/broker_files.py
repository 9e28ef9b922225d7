"""Mosquitto's password_file and acl_file, rendered from the registry and replaced atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contract.logins import session_client_ids, session_login
from contract.mapping import ModelError, parse_model
from contract.topics import COMMAND_PREFIX, PREFIX, command_topic_for
from registry.credentials import API_ACCOUNT, INGEST_ACCOUNT
from settings import Settings
from store.credentials import BrokerAccounts
from store.device_models import MappedDevice, ModelRow

HEADER = "# Written by 'firewatch broker sync'; edits are overwritten at the next sync.\n"

# Ingest reads every site's traffic, also as a member of a shared subscription. The API sends
# commands (the one thing a device subscribes to) and never reads device traffic.
SERVICE_ACL = {
    INGEST_ACCOUNT: [f"topic read {PREFIX}/#", f"topic read $share/+/{PREFIX}/#"],
    API_ACCOUNT: [f"topic write {COMMAND_PREFIX}/#"],
}


def service_logins(account: str, *, ingest_sessions: Sequence[str]) -> list[str]:
    """The broker logins of a service account: one per ingest session, since the broker makes
    a login its client id (ingest/sessions.py); the API's account logs in as itself."""
    if account == INGEST_ACCOUNT:
        return [session_login(account, client_id) for client_id in ingest_sessions]
    return [account]


def ingest_sessions_of(settings: Settings) -> list[str]:
    return session_client_ids(settings.ingest_client_id, members=settings.broker_ingest_members)


def password_file_text(accounts: BrokerAccounts, *, ingest_sessions: Sequence[str]) -> str:
    lines = [
        f"{login}:{digest}"
        for name, digest in accounts.services.items()
        for login in service_logins(name, ingest_sessions=ingest_sessions)
    ]
    lines += [f"{d.device_id}:{d.password_hash}" for d in accounts.devices]
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True, slots=True)
class MappedTopics:
    """Mapped MQTT (gateways/mapped_mqtt.py) in the ACL: ingest reads the device models'
    topics, and each login writes the topics of the devices it publishes for."""

    filters: list[str] = field(default_factory=list)
    writes: dict[str, list[str]] = field(default_factory=dict)  # login -> topics


def mapped_topics(models: Sequence[ModelRow], devices: Sequence[MappedDevice]) -> MappedTopics:
    """A device's topic is its model's with ``{device}`` its ``config.mqtt.topic`` (default its
    id), written by its ``config.mqtt.login`` (default its own login: a Zigbee2MQTT bridge
    publishes for all its devices). A model the contract refuses grants nothing."""
    parsed = {}
    for row in models:
        with contextlib.suppress(ModelError, TypeError):
            document = {"name": row.name, "kind": row.kind, "topic": row.topic, **row.mapping}
            parsed[row.name] = parse_model(document)
    writes: dict[str, list[str]] = {}
    for device in devices:
        link = device.mqtt if isinstance(device.mqtt, dict) else {}
        model = parsed.get(str(link.get("model")))
        if model is not None:
            topic = model.topic.topic_of(str(link.get("topic") or device.id))
            writes.setdefault(str(link.get("login") or device.id), []).append(topic)
    filters = sorted({m.topic.subscription for m in parsed.values()})
    return MappedTopics(filters, {login: sorted(set(t)) for login, t in writes.items()})


def acl_file_text(
    accounts: BrokerAccounts,
    *,
    ingest_sessions: Sequence[str],
    mapped: MappedTopics | None = None,
) -> str:
    """A device publishes only under its own id at its registered site (and on the topics of
    the mapped devices it publishes for), and reads only its own command topic; everything
    not granted is denied."""
    mapped = mapped or MappedTopics()
    blocks = [HEADER]
    for name, rules in SERVICE_ACL.items():
        extra = [f"topic read {f}" for f in mapped.filters] if name == INGEST_ACCOUNT else []
        for login in service_logins(name, ingest_sessions=ingest_sessions):
            blocks.append("\n".join([f"user {login}", *rules, *extra]) + "\n")
    for d in accounts.devices:
        own = [f"topic write {t}" for t in mapped.writes.get(d.device_id, [])]
        blocks.append(
            f"user {d.device_id}\n"
            f"topic write {PREFIX}/{d.site}/{d.device_id}/#\n"
            + "".join(line + "\n" for line in own)
            + f"topic read {command_topic_for(d.site, d.device_id)}\n"
        )
    return "\n".join(blocks)


class BrokerFileError(OSError):
    """A broker file could not be written; the message says what to do."""


def write_atomically(path: Path, text: str, *, mode: int = 0o640) -> None:
    """Temp file in the same folder, fsync, rename: the broker never reads half a file.

    Mode 0640 lets the broker's group read it; make the folder setgid to that group
    (deploy/README.md) so new files get it.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(fd, mode)  # whatever the umask
            out.write(text)
            out.flush()
            os.fsync(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise BrokerFileError(f"cannot write {path}: {exc.strerror}; {_hint(exc, path)}") from exc


def _hint(exc: OSError, path: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"create the folder: install -d -m 2750 -g mosquitto {path.parent}"
    if isinstance(exc, PermissionError):
        return "run as root or as the broker's user"
    return "point FIREWATCH_BROKER_PASSWORD_FILE and FIREWATCH_BROKER_ACL_FILE at a folder"
