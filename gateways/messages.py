"""Contract messages built by a gateway: the same topics and payloads a device on MQTT would
send, so ingest's codec validates, deduplicates and dead-letters them like any other.

A gateway derives ``seq`` and ``ts`` from what its peer sent (a frame's serial number and time
label, a platform's message id), never from its own clock or counters: a peer's retry of the
same report then makes the same message, and the store keeps it once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from contract.messages import Reason, Rejection
from contract.topics import Channel, topic_for
from ingest.pipeline import Inbound

PEER_MAX_CHARS = 64


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def reading(
    site: str,
    device_id: str,
    *,
    ts: datetime,
    seq: int,
    values: Mapping[str, float],
    received_at: datetime,
    region: str | None = None,
    preset: str | None = None,
) -> Inbound:
    body: dict[str, Any] = {"ts": _ms(ts), "seq": seq, "values": dict(values)}
    if region is not None:
        body["region"] = region
    if preset is not None:
        body["preset"] = preset
    return Inbound(topic_for(site, device_id, Channel.READING), orjson.dumps(body), received_at)


def event(
    site: str,
    device_id: str,
    *,
    ts: datetime,
    seq: int,
    event_type: str,
    detail: Mapping[str, Any] | None,
    received_at: datetime,
) -> Inbound:
    body: dict[str, Any] = {"ts": _ms(ts), "seq": seq, "type": event_type}
    if detail:
        body["detail"] = dict(detail)
    return Inbound(topic_for(site, device_id, Channel.EVENT), orjson.dumps(body), received_at)


def status(
    site: str,
    device_id: str,
    *,
    ts: datetime,
    seq: int,
    received_at: datetime,
    values: Mapping[str, float] | None = None,
    firmware: str | None = None,
) -> Inbound:
    """A device heard from (a heartbeat); battery and signal when the peer said them."""
    body: dict[str, Any] = {"ts": _ms(ts), "seq": seq, **(values or {})}
    if firmware is not None:
        body["firmware"] = firmware
    return Inbound(topic_for(site, device_id, Channel.STATUS), orjson.dumps(body), received_at)


def refusal(
    gateway: str,
    site: str,
    *,
    peer: str,
    reason: Reason,
    detail: str,
    raw: bytes,
    received_at: datetime,
    device_id: str | None = None,
) -> Inbound:
    """Input refused before it was a contract message; dead-lettered with ``raw`` as it came,
    on the topic ``gw/{gateway}/{site}/{peer}`` (its site counts against the site's cap)."""
    safe_peer = "".join(c if c.isprintable() and c != "/" else "_" for c in peer)
    return Inbound(
        f"gw/{gateway}/{site}/{safe_peer[:PEER_MAX_CHARS]}",
        raw,
        received_at,
        rejection=Rejection(reason, detail, device_id),
    )
