"""The broker logins of our own MQTT sessions.

The broker binds every client id to its login (Mosquitto's ``use_username_as_clientid``,
deploy/mosquitto/auth.conf), so no device can take over another client's persistent session by
connecting with its id: the broker hands the device a session named after the device. Ingest
holds several sessions (telemetry, alarms, a partitioned worker's unrouted watcher), and each
therefore logs in under a name of its own, ``<account>/<client id>``. No device can have such a
name: device ids never hold a slash.
"""

from __future__ import annotations

ALARMS_SUFFIX = "-alarms"
UNROUTED_SUFFIX = "-unrouted"
MAPPED_SUFFIX = "-mapped"  # devices' own topics, through their device models (mapped MQTT)
SUFFIXES = ("", ALARMS_SUFFIX, UNROUTED_SUFFIX, MAPPED_SUFFIX)


def session_login(account: str, client_id: str) -> str:
    """The broker login of one of a service account's sessions."""
    return f"{account}/{client_id}"


def session_client_ids(base: str, *, members: int) -> list[str]:
    """Every client id an ingest deployment may use: the single process's (``base``) and each
    numbered member's (``base-0`` … partitioned workers or shared-group members), each with
    its alarms and unrouted sessions."""
    bases = [base, *(f"{base}-{i}" for i in range(members))]
    return [b + suffix for b in bases for suffix in SUFFIXES]
