"""Bearer tokens and roles: 401 when who you are is unknown, 403 when your role may not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool

from api.state import State
from store.users import Principal, principal_for_token

_bearer = HTTPBearer(auto_error=False)


async def _principal(state: State, token: str | None) -> Principal:
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing 'Authorization: Bearer <token>'; create a token with "
            "'firewatch users add NAME --role ROLE'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Not the routes' pool: the route may already hold one of those (api/app.py).
    async with state.open_auth_pool.connection() as conn:
        principal = await principal_for_token(conn, token)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "token unknown, revoked or its user disabled; ask an admin for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


async def current_principal(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await _principal(state, credentials.credentials if credentials else None)


@dataclass(frozen=True, slots=True)
class StreamSession:
    """Who opened a live stream, and with which token: the stream checks it again while it
    runs, so disabling the user or rotating the token ends it."""

    principal: Principal
    token: str

    async def still_valid(self, pool: AsyncConnectionPool[Any]) -> bool:
        async with pool.connection() as conn:
            return await principal_for_token(conn, self.token) is not None


async def stream_session(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None,
        Query(description="For EventSource, which cannot send headers; prefer the header."),
    ] = None,
) -> StreamSession:
    """The header, or the token in the query string for a browser's EventSource."""
    token = credentials.credentials if credentials else access_token
    return StreamSession(await _principal(state, token), token or "")


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role!r} may not do this; it needs one of {', '.join(roles)}",
            )
        return principal

    return check
