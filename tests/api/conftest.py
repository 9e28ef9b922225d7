"""What the API tests share: the app on the test's own settings, and a client per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.api.registry_helpers import Api


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with its lifespan running (pool open, alert stream listening)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture()
def api(client: TestClient, database_url: str, site: str) -> Api:
    """Tokens for every role, on this test's site."""
    return Api(client, database_url, site)
