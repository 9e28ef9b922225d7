"""schemathesis against the running API's own OpenAPI document: no 5xx, no schema violation.

Every operation but the live alert stream (it never ends) is called with generated input as an
admin, who passes every role check, so the requests reach the handlers rather than a 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from firewatch.settings import Settings
from tests.api.server import serving
from tests.tokens import token

MAX_EXAMPLES = 20
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def base_url(database_url: str, broker_url: str) -> Iterator[str]:
    app = create_app(Settings(database_url=database_url, mqtt_url=broker_url))
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def admin_token(database_url: str) -> str:
    return token(database_url, f"schemathesis-{uuid.uuid4().hex[:8]}", "admin")


def test_the_api_honours_its_schema(base_url: str, admin_token: str) -> None:
    """Each operation is its own Hypothesis run, without shrinking, so the time is bounded;
    every failure is collected, so one run names them all."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(
        path=["/api/v1/alerts/stream"]
    )
    headers = {"Authorization": f"Bearer {admin_token}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the schema itself: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collected, reported below
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations > 30
    assert not failures, "\n\n".join(failures)
