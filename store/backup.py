"""What a "registry and alerts only" logical backup leaves out: the rows of the readings, the
heartbeats and the readings' roll-ups, wherever the backend keeps them (docs/deploy.md).

On stock PostgreSQL they are the tables' daily partitions, named after them. On TimescaleDB
they are chunk tables of the hypertables (``_timescaledb_internal._hyper_N_*``), of their
compressed twins (``compress_hyper_N_*``) and of the continuous aggregates' materialisations,
which no pattern on the tables' own names matches; the catalog names them.
"""

from __future__ import annotations

from typing import Any

import psycopg

from store.migrate import backend

NATIVE_EXCLUDES = ("readings*", "heartbeats*")  # the partitions and the roll-ups' with them

# Printed by docs/deploy.md's command as it is here: keep the two alike.
TIMESCALEDB_EXCLUDES = """
WITH bulky AS (
    SELECT id FROM _timescaledb_catalog.hypertable
    WHERE schema_name = current_schema() AND table_name IN ('readings', 'heartbeats')
    UNION ALL
    SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg
    WHERE user_view_schema = current_schema() AND user_view_name IN ('readings_5m', 'readings_1h')
)
SELECT unnest(ARRAY['readings', 'heartbeats'])
UNION ALL
SELECT format('%s.%s_*', h.associated_schema_name, h.associated_table_prefix)
FROM _timescaledb_catalog.hypertable h JOIN bulky USING (id)
UNION ALL
SELECT format('%s.compress%s_*', c.associated_schema_name, c.associated_table_prefix)
FROM _timescaledb_catalog.hypertable h JOIN bulky USING (id)
JOIN _timescaledb_catalog.hypertable c ON c.id = h.compressed_hypertable_id
"""


def state_dump_excludes(conn: psycopg.Connection[Any]) -> list[str]:
    """The ``--exclude-table-data`` patterns of a dump without the time series' rows."""
    if backend(conn) == "native":
        return list(NATIVE_EXCLUDES)
    return [str(r[0]) for r in conn.execute(TIMESCALEDB_EXCLUDES)]
