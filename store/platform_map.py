"""Devices that an NB-IoT platform reports for: their ``config.onenet`` or ``config.ctwing``
(gateways/platform_mapping.py reads them into its mapping)."""

from __future__ import annotations

from typing import Any, Literal

import psycopg

Platform = Literal["onenet", "ctwing"]

_CONFIGS = """
SELECT id, config -> %(platform)s
FROM devices
WHERE site = %(site)s AND config ? %(platform)s AND status <> 'decommissioned'
ORDER BY id
"""


async def configs(
    conn: psycopg.AsyncConnection[Any], *, site: str, platform: Platform
) -> list[tuple[str, Any]]:
    """(device id, its platform config) of every device of ``site`` that has one."""
    cur = await conn.execute(_CONFIGS, {"site": site, "platform": platform})
    return [(str(r[0]), r[1]) for r in await cur.fetchall()]
