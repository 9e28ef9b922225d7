"""Device models for mapped MQTT (contract/mapping.py) and the devices that name one in their
``config.mqtt``: the registry's writes, ingest's mapped session's view, the broker's ACL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb


class ModelExists(Exception):
    """A model of this name exists already."""


_MODEL = """
SELECT m.name, m.kind, m.topic, m.mapping, m.description, m.created_at, m.updated_at,
       (SELECT count(*) FROM devices d
        WHERE d.config ? 'mqtt' AND d.config -> 'mqtt' ->> 'model' = m.name
          AND d.status <> 'decommissioned') AS device_count
FROM device_models m
"""


async def list_models(
    conn: psycopg.AsyncConnection[Any], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_MODEL} ORDER BY m.name LIMIT %s OFFSET %s", (limit, offset))
        rows = await cur.fetchall()
        await cur.execute("SELECT count(*) AS n FROM device_models")
        total = await cur.fetchone()
    assert total is not None
    return rows, int(total["n"])


async def get_model(
    conn: psycopg.AsyncConnection[Any], name: str, *, lock: bool = False
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_MODEL} WHERE m.name = %s{' FOR UPDATE OF m' if lock else ''}", (name,)
        )
        return await cur.fetchone()


async def create_model(
    conn: psycopg.AsyncConnection[Any],
    *,
    name: str,
    kind: str,
    topic: str,
    mapping: dict[str, Any],
    description: str | None,
) -> dict[str, Any]:
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO device_models (name, kind, topic, mapping, description)"
                " VALUES (%s, %s, %s, %s, %s)",
                (name, kind, topic, Jsonb(mapping), description),
            )
    except psycopg.errors.UniqueViolation:
        raise ModelExists(name) from None
    row = await get_model(conn, name)
    assert row is not None
    return row


async def replace_model(
    conn: psycopg.AsyncConnection[Any],
    *,
    name: str,
    kind: str,
    topic: str,
    mapping: dict[str, Any],
    description: str | None,
) -> dict[str, Any] | None:
    await conn.execute(
        "UPDATE device_models SET kind = %s, topic = %s, mapping = %s, description = %s,"
        " updated_at = now() WHERE name = %s",
        (kind, topic, Jsonb(mapping), description, name),
    )
    return await get_model(conn, name)


async def delete_model(conn: psycopg.AsyncConnection[Any], name: str) -> bool:
    cur = await conn.execute("DELETE FROM device_models WHERE name = %s", (name,))
    return cur.rowcount > 0


async def devices_of_model(
    conn: psycopg.AsyncConnection[Any], name: str, *, limit: int
) -> list[tuple[str, str]]:
    """(id, kind) of the devices, decommissioned ones excepted, that name the model."""
    cur = await conn.execute(
        "SELECT id, kind FROM devices WHERE config ? 'mqtt' AND config -> 'mqtt' ->> 'model' = %s"
        " AND status <> 'decommissioned' ORDER BY id LIMIT %s",
        (name, limit),
    )
    return [(str(r[0]), str(r[1])) for r in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class ModelRow:
    name: str
    kind: str
    topic: str
    mapping: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MappedDevice:
    """A device that names a model: ``mqtt`` is its ``config.mqtt`` as stored."""

    id: str
    kind: str
    site: str
    mqtt: Any


_MODELS = "SELECT name, kind, topic, mapping FROM device_models ORDER BY name"
_DEVICES = (
    "SELECT id, kind, site, config -> 'mqtt' AS mqtt FROM devices"
    " WHERE config ? 'mqtt' AND status <> 'decommissioned'"
)


def models_and_devices(
    conn: psycopg.Connection[Any], *, site: str
) -> tuple[list[ModelRow], list[MappedDevice]]:
    """Every model, and the site's devices that name one: what ingest's mapped session
    translates with (one snapshot, read in one transaction)."""
    with conn.transaction():
        with conn.cursor(row_factory=class_row(ModelRow)) as cur:
            models = cur.execute(_MODELS).fetchall()
        with conn.cursor(row_factory=class_row(MappedDevice)) as cur:
            devices = cur.execute(f"{_DEVICES} AND site = %s ORDER BY id", (site,)).fetchall()
    return models, devices


async def broker_mapping(
    conn: psycopg.AsyncConnection[Any],
) -> tuple[list[ModelRow], list[MappedDevice]]:
    """Every model, and every site's devices that name one: what the broker's ACL grants."""
    async with conn.cursor(row_factory=class_row(ModelRow)) as cur:
        await cur.execute(_MODELS)
        models = await cur.fetchall()
    async with conn.cursor(row_factory=class_row(MappedDevice)) as cur:
        await cur.execute(f"{_DEVICES} ORDER BY id")
        devices = await cur.fetchall()
    return models, devices
