"""Bodies every router shares: the error body and the error answers that go with auth, and
the one an import refused answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str


# OpenAPI `responses` for routes behind a token and a role, and for those naming one thing.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": Problem}, 403: {"model": Problem}}
ONE_ERRORS: dict[int | str, dict[str, Any]] = {**AUTH_ERRORS, 404: {"model": Problem}}


def refused_import(report: str) -> dict[str, Any]:
    """The OpenAPI answer 422 of an all-or-nothing import: its report (schema ``report``)
    naming every bad row, or FastAPI's own for a malformed query."""
    return {
        "description": "Nothing written: the report's errors, or a malformed query",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": f"#/components/schemas/{report}"},
                        {"$ref": "#/components/schemas/HTTPValidationError"},
                    ]
                }
            }
        },
    }
