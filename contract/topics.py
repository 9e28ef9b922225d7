"""Topic grammar of contract v1: ``fw/v1/{site}/{device_id}/{channel}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

SITE_RE = re.compile(r"[a-z0-9-]{1,32}")
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
PREFIX = "fw/v1"


class Channel(StrEnum):
    READING = "reading"
    EVENT = "event"
    STATUS = "status"
    FRAME = "frame"


@dataclass(frozen=True, slots=True)
class Topic:
    site: str
    device_id: str
    channel: Channel


class TopicError(ValueError):
    """The topic does not follow the grammar; the message says which part is wrong."""


_CHANNELS = {c.value: c for c in Channel}


@lru_cache(maxsize=16384)
def parse_topic(topic: str) -> Topic:
    """Cached: a quarter has a few thousand devices, each on the same four topics all day. A
    city has more topics than the cache holds, which costs it a parse (a microsecond) rather
    than 19 MB."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "fw" or parts[1] != "v1":
        raise TopicError(
            f"expected {PREFIX}/{{site}}/{{device_id}}/{{channel}}, got {topic[:200]!r}"
        )
    _, _, site, device_id, channel = parts
    if not SITE_RE.fullmatch(site):
        raise TopicError(f"site {site[:64]!r} must match [a-z0-9-]{{1,32}}")
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise TopicError(f"device id {device_id[:80]!r} must match [A-Za-z0-9_-]{{1,64}}")
    found = _CHANNELS.get(channel)
    if found is None:
        raise TopicError(f"channel {channel[:32]!r} must be one of {', '.join(_CHANNELS)}")
    return Topic(site, device_id, found)


def topic_for(site: str, device_id: str, channel: Channel) -> str:
    return f"{PREFIX}/{site}/{device_id}/{channel.value}"


COMMAND_PREFIX = "fw/cmd/v1"


def command_topic_for(site: str, device_id: str) -> str:
    """Where a device receives commands: outside ``fw/v1/``, so ingest never reads them."""
    return f"{COMMAND_PREFIX}/{site}/{device_id}"


def alarm_subscription_for(site: str, shared_group: str = "") -> str:
    """The site's events only, for the session that puts alarms ahead of telemetry."""
    base = f"{PREFIX}/{site}/+/{Channel.EVENT.value}"
    return f"$share/{shared_group}-alarms/{base}" if shared_group else base


def subscription_for(site: str, shared_group: str = "") -> str:
    """Everything under the site, so a malformed topic still arrives and is dead-lettered."""
    base = f"{PREFIX}/{site}/#"
    return f"$share/{shared_group}/{base}" if shared_group else base
