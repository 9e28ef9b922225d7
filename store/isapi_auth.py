"""What a camera pushing ISAPI notifications is checked against (api/routers/gateways_isapi.py):
its registry row, its broker password's hash (Basic) and the login the registry keeps for its
own HTTP API (migration 0011), the one password of it kept in clear, which Digest needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class CameraSecrets:
    device_id: str
    site: str
    kind: str
    password_hash: str | None  # device_credentials: the password issued at registration
    camera_password: str | None  # camera_credentials: the camera's own login


_SECRETS = """
SELECT d.id, d.site, d.kind, c.password_hash, k.password
FROM devices d
LEFT JOIN device_credentials c ON c.device_id = d.id
LEFT JOIN camera_credentials k ON k.device_id = d.id
WHERE d.id = %s AND d.status <> 'decommissioned'
"""


async def camera_secrets(
    conn: psycopg.AsyncConnection[Any], device_id: str
) -> CameraSecrets | None:
    """None for an id that is not registered, or is decommissioned."""
    cur = await conn.execute(_SECRETS, (device_id,))
    row = await cur.fetchone()
    return CameraSecrets(*row) if row is not None else None
