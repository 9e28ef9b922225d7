from __future__ import annotations

from typing import Any

import psycopg

from ingest.service import IngestService
from tests.services import wait_until


def wait_received(service: IngestService, count: int, timeout: float = 15) -> None:
    wait_until(
        lambda: service.counters.received >= count,
        timeout=timeout,
        what=f"ingest to receive {count} messages (has {service.counters.received})",
    )


def scalar(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]
