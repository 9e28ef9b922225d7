"""People and their tokens, for admins: list, add, disable, rotate a token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status

from api.auth import require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem
from api.state import Conn, Tx
from registry.schemas import UserCreate, UserRead, UserToken
from store.audit import Actor, record
from store.users import (
    LastAdmin,
    Principal,
    UnknownUser,
    UserDisabled,
    UserExists,
    add_user,
    disable_user,
    get_user,
    list_users,
    rotate_token,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])

Admin = Annotated[Principal, Depends(require_role("admin"))]
UserName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", examples=["li.technician"])]


def _no_user(name: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, f"no user {name!r}; GET /api/v1/users lists them"
    )


@router.get("", response_model=list[UserRead], responses=AUTH_ERRORS, summary="Every user")
async def get_users(conn: Conn, _who: Admin) -> list[dict[str, Any]]:
    return await list_users(conn)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserToken,
    responses={**AUTH_ERRORS, 409: {"model": Problem}},
    summary="Add a user; its bearer token is in the answer, only this once",
)
async def add(body: UserCreate, conn: Tx, who: Admin) -> dict[str, Any]:
    try:
        token = await add_user(conn, name=body.name, role=body.role)
    except UserExists:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"user {body.name!r} exists already; choose another name"
        ) from None
    await record(
        conn,
        Actor.of(who),
        subject_type="user",
        subject_id=body.name,
        action="create",
        detail={"role": body.role},
    )
    user = await get_user(conn, body.name)
    return {"user": user, "token": token}


@router.post(
    "/{name}/disable",
    response_model=UserRead,
    responses={**ONE_ERRORS, 409: {"model": Problem, "description": "The last admin"}},
    summary="Disable a user: its tokens stop working at once",
)
async def disable(name: UserName, conn: Tx, who: Admin) -> dict[str, Any]:
    try:
        await disable_user(conn, name)
    except UnknownUser:
        raise _no_user(name) from None
    except LastAdmin:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{name!r} is the last admin; add another admin first"
        ) from None
    await record(conn, Actor.of(who), subject_type="user", subject_id=name, action="disable")
    user = await get_user(conn, name)
    assert user is not None  # disable_user found it, in this transaction
    return user


@router.post(
    "/{name}/rotate-token",
    response_model=UserToken,
    responses={**ONE_ERRORS, 409: {"model": Problem, "description": "The user is disabled"}},
    summary="Revoke a user's tokens and issue a new one, shown only this once",
)
async def rotate(name: UserName, conn: Tx, who: Admin) -> dict[str, Any]:
    try:
        token = await rotate_token(conn, name)
    except UnknownUser:
        raise _no_user(name) from None
    except UserDisabled:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{name!r} is disabled; a token would not work"
        ) from None
    await record(conn, Actor.of(who), subject_type="user", subject_id=name, action="rotate_token")
    user = await get_user(conn, name)
    return {"user": user, "token": token}
