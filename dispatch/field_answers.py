"""A grid worker's answers through a field link, in the caller's transaction: each step and
each photo checked (``dispatch.steps``), recorded, and written as an incident timeline step so
the operator sees it at once. A real-fire verdict asks the operator to confirm the 119 call.

Every function opens the link first (``dispatch.field_links.open_link``) and returns the
``Refusal`` when it is refused, so the caller can commit the refusal's count and answer 403;
what the dispatch's or incident's state forbids raises ``registry.errors.Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from dispatch.dispatcher import incident_facts_of
from dispatch.field_links import Refusal, open_link
from dispatch.messages import CLASS_ZH, RULE_ZH, place_of
from dispatch.steps import CAUSES, STAMPS, STATE_AFTER, Answer, Judgement, Step, Verdict, judge
from registry.errors import Conflict
from store import dispatches as rows
from store.field import add_photo, link_access, photo_count, record_answer

# The first bytes of each image type accepted: the header alone is the client's word.
_MAGIC: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda b: len(b) >= 12 and b[:4] == b"RIFF" and b[8:12] == b"WEBP",
}
PHOTO_TYPES = tuple(_MAGIC)


def image_problem(content_type: str, data: bytes) -> str | None:
    """Why ``data`` is not an image of ``content_type`` (one of PHOTO_TYPES), or None."""
    if not _MAGIC[content_type](data):
        return f"the body is not a {content_type.removeprefix('image/').upper()} image"
    return None


def _actor(access: dict[str, Any]) -> str:
    return f"field:{access['person_id']}"


def _check_open(access: dict[str, Any]) -> None:
    """The incident still open, and the dispatch nobody else's."""
    if access["incident_state"] == "resolved":
        raise Conflict(f"事件{access['incident_id']}已结案，无需再提交（incident is resolved）")
    taken = access["answered_by"]
    if taken is not None and taken != access["person_id"]:
        raise Conflict(f"这次派单已由{access['answered_by_name']}接单（dispatch taken by {taken}）")


async def answer_step(
    conn: psycopg.AsyncConnection[Any],
    token: str,
    answer: Answer,
    *,
    secret: bytes,
    now: datetime,
) -> dict[str, Any] | Refusal:
    """Records the step (a repeat changes nothing); returns what the worker now sees."""
    access = await open_link(conn, token, secret=secret, now=now, use="answers")
    if isinstance(access, Refusal):
        return access
    _check_open(access)
    judged = judge(
        state=access["state"],
        answered_by=access["answered_by"],
        person_id=access["person_id"],
        step=answer.step,
    )
    if judged is Judgement.APPLY:
        await record_answer(
            conn,
            access=access,
            step=answer.step.value,
            state=STATE_AFTER[answer.step],
            stamp=STAMPS[answer.step],
            verdict=answer.verdict.value if answer.verdict else None,
            cause=answer.cause,
            note=answer.note,
            now=now,
        )
        fire = answer.verdict is Verdict.REAL_FIRE
        if fire:
            await rows.request_call_119(conn, access["incident_id"], now=now)
        detail: dict[str, Any] = {
            "dispatch": access["dispatch_id"],
            "person": access["person_id"],
            "name": access["person_name"],
        }
        if answer.step is Step.VERDICT:
            detail |= {"verdict": answer.verdict, "cause": answer.cause, "call_119_pending": fire}
        if answer.note:
            detail["note"] = answer.note
        await rows.log_steps(conn, access["incident_id"], [(_actor(access), answer.step, detail)])
    return await field_view(conn, access["link_id"], repeated=judged is Judgement.REPEAT)


async def photo_welcome(
    conn: psycopg.AsyncConnection[Any],
    token: str,
    *,
    max_photos: int,
    secret: bytes,
    now: datetime,
) -> Refusal | None:
    """Whether a photo may come, asked before its body is read: None, or the link's refusal
    (counted); a resolved incident, a dispatch another person took or one full of photos
    raises Conflict. ``answer_photo`` asks again as it stores the photo."""
    access = await open_link(conn, token, secret=secret, now=now, use=None)
    if isinstance(access, Refusal):
        return access
    _check_open(access)
    if await photo_count(conn, access["dispatch_id"]) >= max_photos:
        raise _full(max_photos)
    return None


def _full(max_photos: int) -> Conflict:
    return Conflict(f"每次派单最多{max_photos}张照片（at most {max_photos} photos)")


async def answer_photo(
    conn: psycopg.AsyncConnection[Any],
    token: str,
    *,
    content_type: str,
    data: bytes,
    max_photos: int,
    secret: bytes,
    now: datetime,
) -> int | Refusal:
    """Stores a checked photo (``image_problem``) with the dispatch; returns its id."""
    access = await open_link(conn, token, secret=secret, now=now, use="answers")
    if isinstance(access, Refusal):
        return access
    _check_open(access)
    photo_id = await add_photo(
        conn, access=access, content_type=content_type, data=data, max_photos=max_photos, now=now
    )
    if photo_id is None:
        raise _full(max_photos)
    detail = {
        "dispatch": access["dispatch_id"],
        "person": access["person_id"],
        "name": access["person_name"],
        "photo": photo_id,
        "content_type": content_type,
        "size": len(data),
    }
    await rows.log_steps(conn, access["incident_id"], [(_actor(access), "photo", detail)])
    return photo_id


async def view_link(
    conn: psycopg.AsyncConnection[Any], token: str, *, secret: bytes, now: datetime
) -> dict[str, Any] | Refusal:
    access = await open_link(conn, token, secret=secret, now=now, use="views")
    if isinstance(access, Refusal):
        return access
    return await field_view(conn, access["link_id"])


async def field_view(
    conn: psycopg.AsyncConnection[Any], link_id: str, *, repeated: bool = False
) -> dict[str, Any]:
    """The incident as the worker may see it: where, what, how far the dispatch is, and the
    causes each verdict may name; nothing of the operators or of other workers' phones."""
    access = await link_access(conn, link_id)
    assert access is not None  # opened by the caller
    found = await rows.incident_facts(conn, access["incident_id"])
    assert found is not None
    facts = incident_facts_of(found)
    taken = access["answered_by"]
    return {
        "repeated": repeated,
        "person": {"id": access["person_id"], "name": access["person_name"]},
        "incident": {
            "id": facts.incident_id,
            "class": facts.alert_class,
            "class_label": CLASS_ZH.get(facts.alert_class, facts.alert_class),
            "confirmed": facts.confirmed,
            "place": place_of(facts),
            "address": facts.address,
            "lat": facts.lat,
            "lon": facts.lon,
            "resolved": access["incident_state"] == "resolved",
            "signals": [
                {
                    "device_id": s.device_id,
                    "label": RULE_ZH.get(s.rule, s.rule),
                    "class": s.alert_class,
                }
                for s in facts.signals
            ],
        },
        "dispatch": {
            "id": access["dispatch_id"],
            "state": access["state"],
            "mine": taken == access["person_id"],
            "taken_by": access["answered_by_name"]
            if taken not in (None, access["person_id"])
            else None,
            "accepted_at": access["accepted_at"],
            "on_my_way_at": access["on_my_way_at"],
            "arrived_at": access["arrived_at"],
            "verdict_at": access["verdict_at"],
            "verdict": access["verdict"],
            "cause": access["cause"],
            "photos": await photo_count(conn, access["dispatch_id"]),
        },
        "link_expires_at": access["expires_at"],
        "causes": {verdict.value: labels for verdict, labels in CAUSES.items()},
    }
