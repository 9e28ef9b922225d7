"""Which registered device each GB/T 26875.3 address is: the devices whose config holds
``gb26875`` ({"transmitter": 12 hex digits, "system": int, "component": int}), read by the
gateway's mapping (gateways/gb26875/mapping.py)."""

from __future__ import annotations

from typing import Any

import psycopg

_MAPPED = """
SELECT id, config -> 'gb26875'
FROM devices
WHERE site = %s AND config ? 'gb26875' AND status <> 'decommissioned'
ORDER BY id
"""


async def mapped_devices(conn: psycopg.AsyncConnection[Any], *, site: str) -> list[tuple[str, Any]]:
    """(device id, its ``config.gb26875`` as stored) for the site's devices that have one,
    by id, so that of two devices claiming one address the same one always wins."""
    cur = await conn.execute(_MAPPED, (site,))
    return [(str(r[0]), r[1]) for r in await cur.fetchall()]
