"""Bearer tokens for tests: a user of a role, created straight in the store, as the CLI would."""

from __future__ import annotations

import asyncio

import psycopg

from store.users import add_user


def token(database_url: str, name: str, role: str) -> str:
    async def go() -> str:
        conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        async with conn:
            return await add_user(conn, name=name, role=role)

    return asyncio.run(go())


def auth(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}"}
