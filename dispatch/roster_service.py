"""The grid's people, channels, rosters and supervisor chains: each operation checks, writes
and audits in the caller's transaction, never commits, and refuses with ``registry.errors``
(the API maps them to 404/409/422; the import reports them per row). Every check comes before
the first write, so a refusal leaves the transaction usable.

A channel's secrets are masked in everything this returns and in the audit log
(``dispatch.channel_secrets``); its configuration is checked by its kind's own rules
(``dispatch.channels.check_config``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo
from typing import Any

import psycopg

from dispatch import channel_secrets
from dispatch.channels import check_config
from dispatch.on_call import site_time
from dispatch.roster_schemas import (
    ChannelWrite,
    PersonRole,
    PersonWrite,
    RosterWrite,
    SupervisorsWrite,
)
from dispatch.rosters import contacts_for
from registry.errors import Conflict, Invalid, NotFound
from store import rosters as rows
from store.audit import Actor, audit_of, record

_PERSON_FIELDS = ("name", "phone", "role", "active", "channels")


# People.


def _no_person(person_id: str) -> NotFound:
    return NotFound(f"no person {person_id!r}; PUT /api/v1/people/{person_id} adds them")


async def list_people(
    conn: psycopg.AsyncConnection[Any],
    *,
    role: str | None,
    active: bool | None,
    zone: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    items, total = await rows.list_people(
        conn, role=role, active=active, zone=zone, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def get_person(conn: psycopg.AsyncConnection[Any], person_id: str) -> dict[str, Any]:
    person = await rows.get_person(conn, person_id)
    if person is None:
        raise _no_person(person_id)
    return person


async def put_person(
    conn: psycopg.AsyncConnection[Any], person_id: str, body: PersonWrite, *, actor: Actor
) -> tuple[dict[str, Any], bool]:
    """Creates or replaces the person; True when created. Their channels must exist; a
    supervisor in a zone's chain keeps that role until taken out of it."""
    current = await rows.get_person(conn, person_id, lock=True)
    fields = body.model_dump(mode="json")
    known = await rows.share_channels(conn, body.channels)
    for i, channel_id in enumerate(body.channels):
        if channel_id not in known:
            raise Invalid(
                ("channels", str(i)),
                f"no channel {channel_id!r}; PUT /api/v1/channels/{channel_id} first",
                channel_id,
            )
    if current is not None and current["supervises"] and body.role != PersonRole.SUPERVISOR:
        raise Conflict(
            f"{person_id!r} is in the supervisor chain of {', '.join(current['supervises'])}; "
            "take them out of it before changing their role"
        )
    await rows.put_person(conn, person_id, fields=fields, channels=body.channels)
    if current is None:
        await record(
            conn, actor, subject_type="person", subject_id=person_id, action="create", detail=fields
        )
    else:
        changed = {k: [current[k], fields[k]] for k in _PERSON_FIELDS if current[k] != fields[k]}
        if changed:
            await record(
                conn,
                actor,
                subject_type="person",
                subject_id=person_id,
                action="update",
                detail=changed,
            )
    return await get_person(conn, person_id), current is None


async def delete_person(
    conn: psycopg.AsyncConnection[Any], person_id: str, *, actor: Actor
) -> None:
    current = await rows.get_person(conn, person_id, lock=True)
    if current is None:
        raise _no_person(person_id)
    zones = sorted({*current["rosters"], *current["supervises"]})
    if zones:
        raise Conflict(
            f"{person_id!r} is on the roster or supervisor chain of {', '.join(zones)}; take "
            "them off first, or set active to false while they are away"
        )
    try:
        await rows.delete_person(conn, person_id)
    except rows.StillReferenced:
        raise Conflict(f"{person_id!r} was just put on a roster or chain; try again") from None
    await record(
        conn,
        actor,
        subject_type="person",
        subject_id=person_id,
        action="delete",
        detail={"name": current["name"]},
    )


async def person_audit(
    conn: psycopg.AsyncConnection[Any], person_id: str, *, limit: int
) -> list[dict[str, Any]]:
    """Who changed the person, newest first; kept after the person is deleted."""
    rows_found = await audit_of(conn, subject_type="person", subject_id=person_id, limit=limit)
    if not rows_found:
        await get_person(conn, person_id)
    return rows_found


# Channels.


def _no_channel(channel_id: str) -> NotFound:
    return NotFound(f"no channel {channel_id!r}; PUT /api/v1/channels/{channel_id} adds it")


def _shown(channel: dict[str, Any]) -> dict[str, Any]:
    return {**channel, "config": channel_secrets.mask(channel["config"])}


async def list_channels(
    conn: psycopg.AsyncConnection[Any], *, zone: str | None, kind: str | None
) -> list[dict[str, Any]]:
    return [_shown(c) for c in await rows.list_channels(conn, zone=zone, kind=kind)]


async def get_channel(conn: psycopg.AsyncConnection[Any], channel_id: str) -> dict[str, Any]:
    channel = await rows.get_channel(conn, channel_id)
    if channel is None:
        raise _no_channel(channel_id)
    return _shown(channel)


async def put_channel(
    conn: psycopg.AsyncConnection[Any], channel_id: str, body: ChannelWrite, *, actor: Actor
) -> tuple[dict[str, Any], bool]:
    """Creates or replaces the channel; True when created. Its configuration is checked by its
    kind; a mask sent back where a secret was shown keeps that secret."""
    current = await rows.get_channel(conn, channel_id, lock=True)
    config = (
        body.config if current is None else channel_secrets.restore(body.config, current["config"])
    )
    masked = channel_secrets.masks_left(config)
    if masked is not None:
        raise Invalid(
            tuple(masked.replace("[", ".").replace("]", "").split(".")),
            f"{channel_secrets.MASK!r} stands for a stored secret and there is none here to "
            "keep (a secret is kept only while the address's host stays the same); send the "
            "secret itself",
            channel_secrets.MASK,
        )
    try:
        config = check_config(body.kind, config)
    except ValueError as exc:
        field = str(exc).partition(":")[0]
        raise Invalid(("config", field), str(exc)) from None
    if body.zone is not None and not await rows.zone_known(conn, body.zone):
        raise Invalid(("zone",), _unknown_zone(body.zone), body.zone)
    fields = {"kind": body.kind.value, "name": body.name, "zone": body.zone, "config": config}
    await rows.put_channel(conn, channel_id, fields)
    shown = {**fields, "config": channel_secrets.mask(config)}
    if current is None:
        await record(
            conn,
            actor,
            subject_type="channel",
            subject_id=channel_id,
            action="create",
            detail=shown,
        )
    else:
        before = _shown(current)
        changed: dict[str, Any] = {k: [before[k], v] for k, v in shown.items() if before[k] != v}
        if current["config"] != config and "config" not in changed:
            changed["config"] = "a secret changed"  # masked, old and new look alike
        if changed:
            await record(
                conn,
                actor,
                subject_type="channel",
                subject_id=channel_id,
                action="update",
                detail=changed,
            )
    return await get_channel(conn, channel_id), current is None


async def delete_channel(
    conn: psycopg.AsyncConnection[Any], channel_id: str, *, actor: Actor
) -> None:
    current = await rows.get_channel(conn, channel_id, lock=True)
    if current is None:
        raise _no_channel(channel_id)
    if current["people"]:
        raise Conflict(
            f"channel {channel_id!r} reaches {', '.join(current['people'])}; take it out of "
            "their channels first"
        )
    try:
        await rows.delete_channel(conn, channel_id)
    except rows.StillReferenced:
        raise Conflict(f"channel {channel_id!r} was just given to someone; try again") from None
    await record(
        conn,
        actor,
        subject_type="channel",
        subject_id=channel_id,
        action="delete",
        detail={"kind": current["kind"], "name": current["name"]},
    )


async def channel_audit(
    conn: psycopg.AsyncConnection[Any], channel_id: str, *, limit: int
) -> list[dict[str, Any]]:
    rows_found = await audit_of(conn, subject_type="channel", subject_id=channel_id, limit=limit)
    if not rows_found:
        await get_channel(conn, channel_id)
    return rows_found


# Rosters and supervisor chains, per zone.


def _unknown_zone(zone: str) -> str:
    return (
        f"no zone {zone!r}: no zone record and no building in it; PUT /api/v1/zones/{zone} "
        "creates it"
    )


async def _known_zone(conn: psycopg.AsyncConnection[Any], zone: str) -> None:
    if not await rows.zone_known(conn, zone):
        raise NotFound(_unknown_zone(zone))


def _shift_entry(shift: dict[str, Any]) -> tuple[str, int, tuple[int, ...], str, str]:
    return (
        shift["person"],
        shift["position"],
        tuple(shift["weekdays"]),
        shift["start"].isoformat(),
        shift["end"].isoformat(),
    )


def _entries(counter: Counter[tuple[str, int, tuple[int, ...], str, str]]) -> list[Any]:
    return [
        {"person": p, "position": n, "weekdays": list(d), "start": s, "end": e}
        for (p, n, d, s, e) in sorted(counter.elements())
    ]


async def get_roster(conn: psycopg.AsyncConnection[Any], zone: str) -> dict[str, Any]:
    await _known_zone(conn, zone)
    return {"zone": zone, "shifts": await rows.shifts_of(conn, zone)}


async def put_roster(
    conn: psycopg.AsyncConnection[Any], zone: str, body: RosterWrite, *, actor: Actor
) -> dict[str, Any]:
    """Replaces the zone's shifts; the audit row names the shifts added and removed, each
    with its person."""
    await _known_zone(conn, zone)
    await rows.lock_roster(conn, zone)
    people = await rows.share_people(conn, (s.person for s in body.shifts))
    for i, shift in enumerate(body.shifts):
        if shift.person not in people:
            raise Invalid(
                ("shifts", str(i), "person"), _no_person(shift.person).message, shift.person
            )
    before = Counter(_shift_entry(s) for s in await rows.shifts_of(conn, zone))
    await rows.replace_shifts(
        conn,
        zone,
        [
            rows.ShiftRow(
                person=s.person,
                position=s.position,
                weekdays=s.weekdays,
                start=s.start,
                end=s.end,
            )
            for s in body.shifts
        ],
    )
    roster = await get_roster(conn, zone)
    after = Counter(_shift_entry(s) for s in roster["shifts"])
    if before != after:
        await record(
            conn,
            actor,
            subject_type="roster",
            subject_id=zone,
            action="shifts",
            detail={"added": _entries(after - before), "removed": _entries(before - after)},
        )
    return roster


async def get_supervisors(conn: psycopg.AsyncConnection[Any], zone: str) -> dict[str, Any]:
    await _known_zone(conn, zone)
    return {"zone": zone, "supervisors": await rows.supervisors_of(conn, zone)}


async def put_supervisors(
    conn: psycopg.AsyncConnection[Any], zone: str, body: SupervisorsWrite, *, actor: Actor
) -> dict[str, Any]:
    """Replaces the zone's chain, level 1 first; each must have the supervisor role."""
    await _known_zone(conn, zone)
    await rows.lock_roster(conn, zone)
    people = await rows.share_people(conn, body.people)
    for i, person_id in enumerate(body.people):
        found = people.get(person_id)
        if found is None:
            raise Invalid(("people", str(i)), _no_person(person_id).message, person_id)
        if found.role != PersonRole.SUPERVISOR:
            raise Invalid(
                ("people", str(i)),
                f"{person_id!r} is a {found.role}; a chain holds supervisors only (PUT "
                f"/api/v1/people/{person_id} with role supervisor)",
                person_id,
            )
    before = [s["person"] for s in await rows.supervisors_of(conn, zone)]
    await rows.replace_supervisors(conn, zone, body.people)
    if before != body.people:
        await record(
            conn,
            actor,
            subject_type="roster",
            subject_id=zone,
            action="supervisors",
            detail={"before": before, "after": body.people},
        )
    return await get_supervisors(conn, zone)


async def roster_audit(
    conn: psycopg.AsyncConnection[Any], zone: str, *, limit: int
) -> list[dict[str, Any]]:
    """Changes to the zone's shifts and chain, newest first."""
    rows_found = await audit_of(conn, subject_type="roster", subject_id=zone, limit=limit)
    if not rows_found:
        await _known_zone(conn, zone)
    return rows_found


async def on_call(
    conn: psycopg.AsyncConnection[Any], zone: str, *, at: datetime, tz: tzinfo
) -> dict[str, Any]:
    """Who would be called for the zone at ``at``, in order, with their channels' ids and
    kinds (never their configurations)."""
    await _known_zone(conn, zone)
    contacts = await contacts_for(conn, zone=zone, at=at, tz=tz)
    return {
        "zone": zone,
        "at": at,
        "local_time": site_time(at, tz),
        "timezone": str(tz),
        "contacts": [
            {
                "level": c.level,
                "person": c.person_id,
                "name": c.name,
                "phone": c.phone,
                "role": c.role,
                "channels": [{"id": ch.id, "kind": ch.kind} for ch in c.channels],
            }
            for c in contacts
        ],
    }
