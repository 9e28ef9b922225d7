"""issue_credentials: Mosquitto's own hash format, stored in the caller's transaction."""

from __future__ import annotations

import asyncio
import subprocess
from base64 import b64decode
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from contract.kinds import Kind
from registry.credentials import issue_credentials, mosquitto_hash
from settings import Settings
from store.credentials import UnknownDevice
from store.database import connect_async
from tests.conftest import Registry

T = TypeVar("T")


def in_transaction(url: str, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    async def go() -> T:
        async with await connect_async(url) as conn, conn.transaction():
            return await work(conn)

    return asyncio.run(go())


def stored(db: psycopg.Connection[Any], device_id: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT password_hash, created_at, rotated_at FROM device_credentials WHERE device_id = %s",
        (device_id,),
    ).fetchone()


def verifies(password: str, digest: str) -> bool:
    _, _, iterations, salt, _ = digest.split("$")
    return mosquitto_hash(password, salt=b64decode(salt), iterations=int(iterations)) == digest


def test_the_hash_is_byte_for_byte_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(file), "D1", "s3cret/pw"], check=True)
    username, digest = file.read_text().strip().split(":", 1)
    assert username == "D1" and digest.startswith("$7$101$")
    assert verifies("s3cret/pw", digest)
    assert not verifies("s3cret/pX", digest)


def test_issue_round_trip_and_rotation(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    a, b = (
        registry.add(f"{registry.site}-A", Kind.SMOKE),
        registry.add(f"{registry.site}-B", Kind.SMOKE),
    )
    first = in_transaction(settings.database_url, lambda c: issue_credentials(c, [a, b]))
    assert set(first) == {a, b} and first[a] != first[b] and len(first[a]) >= 32
    hash_a, created, rotated = stored(db, a) or ()
    assert verifies(first[a], hash_a) and created == rotated
    assert first[a] not in hash_a

    again = in_transaction(settings.database_url, lambda c: issue_credentials(c, [a]))
    new_hash, created_again, rotated_again = stored(db, a) or ()
    assert verifies(again[a], new_hash) and not verifies(first[a], new_hash)
    assert created_again == created and rotated_again > rotated
    assert verifies(first[b], (stored(db, b) or ())[0])  # untouched


def test_nothing_is_stored_when_the_callers_transaction_rolls_back(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    a = registry.add(f"{registry.site}-A", Kind.SMOKE)

    async def fails(conn: psycopg.AsyncConnection[Any]) -> None:
        await issue_credentials(conn, [a])
        raise RuntimeError("the registration failed later")

    with pytest.raises(RuntimeError):
        in_transaction(settings.database_url, fails)
    assert stored(db, a) is None


def test_an_unregistered_id_is_refused(settings: Settings, registry: Registry) -> None:
    a = registry.add(f"{registry.site}-A", Kind.SMOKE)
    with pytest.raises(UnknownDevice, match=r"nobody.*register it first"):
        in_transaction(settings.database_url, lambda c: issue_credentials(c, [a, "nobody"]))
    assert in_transaction(settings.database_url, lambda c: issue_credentials(c, [])) == {}


def test_repeated_ids_get_one_password(settings: Settings, registry: Registry) -> None:
    a = registry.add(f"{registry.site}-A", Kind.SMOKE)
    issued = in_transaction(settings.database_url, lambda c: issue_credentials(c, [a, a]))
    assert list(issued) == [a]
