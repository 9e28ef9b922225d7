from __future__ import annotations

from collections.abc import Iterator

import pytest

from firewatch.testing import own_database


@pytest.fixture()
def database_url() -> Iterator[str]:
    """A database per fault test: a held lock or a flood of dead letters stays in it."""
    with own_database("fw_fault") as url:
        yield url
