"""Sending an incident to the people of its zone, in the caller's transaction: an operator's
dispatch, a site's automatic dispatch of a confirmed fire, and escalation when nobody accepts
in time.

The call order is the roster's at the moment of each notice (``dispatch.rosters.contacts_for``:
grid workers on shift, then the supervisor chain); each notice goes to the first person in it
not yet reached who has a channel, with a field link of their own, as one queued delivery per
channel of theirs. A delivery's key, ``{dispatch}:{person}:{step}:{channel}``, is unique in the
queue, so a repeated or concurrent attempt notifies nobody twice. An automatic dispatch happens
once per incident (a unique index), whichever process gets there first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import psycopg

from alerts.lifecycle import ENGINE
from dispatch import field_links
from dispatch.messages import IncidentFacts, SignalFact, dispatch_message
from dispatch.model import Contact
from dispatch.rosters import contacts_for, zone_of_building
from registry.errors import Conflict, Invalid, NotFound
from settings import Settings
from store import dispatches as rows
from store.deliveries import NewDelivery, enqueue

# Steps a notice is sent for: the first call, and each escalation after it.
DISPATCH, ESCALATE = "dispatch", "escalate"

Step = tuple[str, str, dict[str, Any]]  # an incident log step: actor, action, detail


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchConfig:
    """What dispatching needs of the settings, with the signing key resolved. ``site``: the
    loop escalates and dispatches automatically this site's incidents only; ``tz``: the site's
    time zone, on whose wall clock shifts are read."""

    site: str
    accept_s: float
    link_ttl_s: int
    base_url: str
    secret: bytes
    tz: tzinfo

    @classmethod
    async def of(cls, conn: psycopg.AsyncConnection[Any], settings: Settings) -> DispatchConfig:
        return cls(
            site=settings.site,
            accept_s=settings.dispatch_accept_s,
            link_ttl_s=settings.field_link_ttl_s,
            base_url=field_links.base_url(settings),
            secret=await field_links.link_secret(conn, settings),
            tz=settings.tz,
        )


async def dispatch_incident(
    conn: psycopg.AsyncConnection[Any],
    incident_id: int,
    *,
    actor: str,
    now: datetime,
    config: DispatchConfig,
    zone: str | None = None,
    person_id: str | None = None,
    automatic: bool = False,
) -> int | None:
    """Dispatches the incident to its zone's first on call (or ``zone``'s; ``person_id`` first
    when named); returns the dispatch's id. An operator's dispatch raises NotFound, Conflict
    (resolved, one open already, no zone, nobody on call) or Invalid (``person_id`` not on
    call). An automatic one returns None if the incident had its dispatch; with nobody to
    call it is made all the same, at once exhausted, so the operator sees it and it is not
    tried again."""
    found = await rows.incident_facts(conn, incident_id)
    if found is None:
        raise NotFound(f"no incident {incident_id}")
    if found["state"] == "resolved":
        raise Conflict(f"incident {incident_id} is resolved; there is nothing to dispatch")
    if zone is None:
        zone = (
            await zone_of_building(conn, found["building"])
            if found["building"] is not None
            else found["origin_zone"]
        )
    order = await _reachable(conn, zone=zone, now=now, config=config)
    if person_id is not None:
        order = _first(order, person_id, zone=zone)
    if not automatic:
        _check_callable(incident_id, zone=zone, order=order)
    dispatch_id = await rows.open_dispatch(
        conn,
        incident_id=incident_id,
        site=found["site"],
        zone=zone,
        automatic=automatic,
        created_by=actor,
        now=now,
    )
    if dispatch_id is None:
        if automatic:
            return None
        raise Conflict(
            f"incident {incident_id} has an open dispatch "
            f"{await rows.open_dispatch_of(conn, incident_id)}; revoke it first"
        )
    detail: dict[str, Any] = {"dispatch": dispatch_id, "zone": zone, "automatic": automatic}
    steps: list[Step] = [(actor, "dispatch", detail)]
    if order:
        steps.append(
            await _notify(
                conn, dispatch_id, order[0], step=DISPATCH, facts=found, config=config, now=now
            )
        )
    else:
        await rows.mark_exhausted(conn, dispatch_id, now=now)
        detail["nobody_on_call"] = True
    await rows.log_steps(conn, incident_id, steps)
    return dispatch_id


async def _reachable(
    conn: psycopg.AsyncConnection[Any], *, zone: str | None, now: datetime, config: DispatchConfig
) -> list[Contact]:
    """The zone's call order at ``now`` less the people with no channel to reach them: a
    notice to them would reach nobody, and the dispatch would wait its accept time for
    nothing."""
    if zone is None:
        return []
    return [c for c in await contacts_for(conn, zone=zone, at=now, tz=config.tz) if c.channels]


def _first(order: list[Contact], person_id: str, *, zone: str | None) -> list[Contact]:
    """The named person first, then the rest in their order."""
    chosen = [c for c in order if c.person_id == person_id]
    if not chosen:
        on_call = ", ".join(c.person_id for c in order) or "nobody"
        raise Invalid(
            ("person_id",),
            f"{person_id} is not on call in zone {zone} now, or has no channel to reach them"
            f" (on call and reachable: {on_call})",
            person_id,
        )
    return chosen + [c for c in order if c.person_id != person_id]


def _check_callable(incident_id: int, *, zone: str | None, order: list[Contact]) -> None:
    if zone is None:
        raise Conflict(
            f"incident {incident_id}'s place is in no zone; name the zone to dispatch to"
        )
    if not order:
        raise Conflict(
            f"nobody is on call in zone {zone} now with a channel to reach them; name another "
            "zone or person"
        )


async def escalate_next(
    conn: psycopg.AsyncConnection[Any], *, now: datetime, config: DispatchConfig
) -> bool:
    """Notifies the next person of one dispatch nobody accepted within the accept time, or
    whose latest notice reached nobody (every delivery failed for good), its row locked (other
    loops take the others); when nobody is left, marks it exhausted. False when no dispatch
    was due."""
    due = await rows.lock_due(conn, site=config.site, now=now, accept_s=config.accept_s)
    if due is None:
        return False
    found = await rows.incident_facts(conn, due["incident_id"])
    assert found is not None  # a dispatch's incident
    reached = await rows.notified(conn, due["id"])
    order = await _reachable(conn, zone=due["zone"], now=now, config=config)
    waited: dict[str, Any] = {
        "dispatch": due["id"],
        "unanswered_s": (now - due["notified_at"]).total_seconds(),
    }
    if due["undelivered"]:
        waited["undelivered"] = True  # every message to the last person failed
    after = next((c for c in order if c.person_id not in reached), None)
    if after is None:
        await rows.mark_exhausted(conn, due["id"], now=now)
        steps: list[Step] = [(ENGINE, "escalation_exhausted", {**waited, "notified": len(reached)})]
    else:
        notice = await _notify(
            conn, due["id"], after, step=ESCALATE, facts=found, config=config, now=now
        )
        steps = [(notice[0], notice[1], {**notice[2], **waited})]
    await rows.log_steps(conn, due["incident_id"], steps)
    return True


async def auto_dispatch_due(
    conn: psycopg.AsyncConnection[Any], *, now: datetime, config: DispatchConfig, limit: int = 20
) -> list[int]:
    """Dispatches the confirmed fires of sites that dispatch them automatically, each in a
    transaction of its own (a log row's lock is never held while waiting for another
    process's dispatch to commit); returns the dispatches made here. ``conn``: no
    transaction open."""
    made = []
    for incident_id in await rows.auto_candidates(conn, site=config.site, limit=limit):
        try:
            async with conn.transaction():
                dispatch_id = await dispatch_incident(
                    conn, incident_id, actor=ENGINE, now=now, config=config, automatic=True
                )
        except (NotFound, Conflict):  # resolved (or gone) since it was found
            continue
        if dispatch_id is not None:
            made.append(dispatch_id)
    return made


async def _notify(
    conn: psycopg.AsyncConnection[Any],
    dispatch_id: int,
    contact: Contact,
    *,
    step: str,
    facts: dict[str, Any],
    config: DispatchConfig,
    now: datetime,
) -> Step:
    """A link for ``contact`` and one queued delivery per channel of theirs; the notice's
    incident log step."""
    expires = (now + timedelta(seconds=config.link_ttl_s)).replace(microsecond=0)
    claim = field_links.LinkClaim(
        link_id=field_links.new_link_id(), dispatch_id=dispatch_id, expires_at=expires
    )
    link = f"{config.base_url}/field/{field_links.sign(claim, secret=config.secret)}"
    message = dispatch_message(
        incident_facts_of(facts), contact=contact, link=link, escalated=step == ESCALATE
    )
    body = {
        "title": message.title,
        "text": message.text,
        "link": message.link,
        "mention_phones": list(message.mention_phones),
    }
    await rows.add_notice(
        conn,
        rows.Notice(
            dispatch_id=dispatch_id,
            person_id=contact.person_id,
            name=contact.name,
            role=contact.role,
            phone=contact.phone,
            level=contact.level,
            step=step,
            link_id=claim.link_id,
            expires_at=expires,
            channels=len(contact.channels),
            at=now,
        ),
    )
    await enqueue(
        conn,
        items=[
            NewDelivery(
                key=f"{dispatch_id}:{contact.person_id}:{step}:{channel.id}",
                dispatch_id=dispatch_id,
                person_id=contact.person_id,
                step=step,
                channel_id=channel.id,
                channel_kind=channel.kind.value,
                channel_config=channel.config,
                message=body,
            )
            for channel in contact.channels
        ],
    )
    detail = {
        "dispatch": dispatch_id,
        "person": contact.person_id,
        "name": contact.name,
        "role": contact.role,
        "level": contact.level,
        "channels": [c.id for c in contact.channels],
    }
    return ENGINE, "notify" if step == DISPATCH else "escalate", detail


def incident_facts_of(found: dict[str, Any]) -> IncidentFacts:
    """``store.dispatches.incident_facts`` as a message tells it."""
    return IncidentFacts(
        incident_id=found["id"],
        building=found["building"],
        building_name=found["building_name"],
        address=found["address"],
        origin=found["origin"],
        alert_class=found["class"],
        confirmed=found["confirmed_at"] is not None,
        lat=found["lat"],
        lon=found["lon"],
        signals=tuple(
            SignalFact(device_id=s["device_id"], rule=s["rule"], alert_class=s["class"])
            for s in found["signals"]
        ),
    )
