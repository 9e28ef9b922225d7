"""A PostgreSQL cluster of one test's own, which it may stop and start: the machine's server is
shared with other engineers and is never restarted by a test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from firewatch.embedded import EmbeddedPostgres, postgres_bindir
from firewatch.testing import free_port
from store.database import connect, ensure_database
from store.migrate import migrate


@contextmanager
def private_cluster() -> Iterator[tuple[EmbeddedPostgres, str]]:
    """initdb in a folder under /tmp (which the unprivileged user that PostgreSQL runs as under
    root can reach, unlike pytest's tmp_path), started and migrated; yields it and its URL."""
    bindir = postgres_bindir()
    assert bindir is not None, "PostgreSQL's initdb is not installed"
    folder = Path(tempfile.mkdtemp(prefix="fw-fault-pg-"))
    cluster = EmbeddedPostgres(folder, port=free_port(), user="postgres", bindir=bindir)
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/firewatch"
    try:
        cluster.start()
        ensure_database(url)
        with connect(url) as conn:
            migrate(conn, progress=lambda _line: None)
        yield cluster, url
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
