"""The operators' six actions as routes, shared by alerts and incidents: what each action
takes and how its body becomes an ``OperatorAction`` is the same for both; only what
performs it, and what it answers, differ."""

# No `from __future__ import annotations`: FastAPI must see the routes' annotations, which
# name the local `Target`, as objects.

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

from alerts.lifecycle import Action
from api.alert_schemas import AckBody, ClaimBody, CommentBody, ResolveBody, ShelveBody
from api.auth import require_role
from api.state import AppState, Conn
from api.state import State as App
from store.alert_actions import OperatorAction
from store.users import Principal

Perform = Callable[
    [psycopg.AsyncConnection[Any], AppState, int, OperatorAction], Awaitable[dict[str, Any]]
]
Operator = Annotated[Principal, Depends(require_role("operator", "admin"))]
Commenter = Annotated[Principal, Depends(require_role("operator", "admin", "technician"))]


def add_operator_routes(
    router: APIRouter,
    *,
    item: str,
    target: Callable[..., Awaitable[int]],
    perform: Perform,
    response_model: type[BaseModel],
    responses: dict[int | str, dict[str, Any]],
    summaries: Mapping[Action, str],
) -> None:
    """``item``: the path of one target, e.g. ``/{alert_id}``; ``target``: the dependency
    that reads its id from that path, so the OpenAPI names the parameter as the path does."""
    Target = Annotated[int, Depends(target)]

    def post(action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return router.post(
            f"{item}/{action.value}",
            response_model=response_model,
            responses=responses,
            summary=summaries[action],
        )

    @post(Action.ACK)
    async def ack(
        target_id: Target,
        conn: Conn,
        app: App,
        who: Operator,
        body: Annotated[AckBody | None, Body()] = None,
    ) -> dict[str, Any]:
        act = OperatorAction(action=Action.ACK, actor=who.name, note=body.note if body else None)
        return await perform(conn, app, target_id, act)

    @post(Action.SHELVE)
    async def shelve(
        target_id: Target, conn: Conn, app: App, who: Operator, body: ShelveBody
    ) -> dict[str, Any]:
        act = OperatorAction(
            action=Action.SHELVE, actor=who.name, minutes=body.minutes, reason=body.reason
        )
        return await perform(conn, app, target_id, act)

    @post(Action.UNSHELVE)
    async def unshelve(target_id: Target, conn: Conn, app: App, who: Operator) -> dict[str, Any]:
        act = OperatorAction(action=Action.UNSHELVE, actor=who.name)
        return await perform(conn, app, target_id, act)

    @post(Action.RESOLVE)
    async def resolve(
        target_id: Target, conn: Conn, app: App, who: Operator, body: ResolveBody
    ) -> dict[str, Any]:
        act = OperatorAction(
            action=Action.RESOLVE, actor=who.name, cause=body.cause, note=body.note
        )
        return await perform(conn, app, target_id, act)

    @post(Action.COMMENT)
    async def comment(
        target_id: Target, conn: Conn, app: App, who: Commenter, body: CommentBody
    ) -> dict[str, Any]:
        act = OperatorAction(action=Action.COMMENT, actor=who.name, note=body.text)
        return await perform(conn, app, target_id, act)

    @post(Action.CLAIM)
    async def claim(
        target_id: Target,
        conn: Conn,
        app: App,
        who: Operator,
        body: Annotated[ClaimBody | None, Body()] = None,
    ) -> dict[str, Any]:
        act = OperatorAction(
            action=Action.CLAIM, actor=who.name, take_over=bool(body and body.take_over)
        )
        return await perform(conn, app, target_id, act)
