"""Bodies every router shares: the error body and the error answers that go with auth."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str


# OpenAPI `responses` for routes behind a token and a role, and for those naming one thing.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": Problem}, 403: {"model": Problem}}
ONE_ERRORS: dict[int | str, dict[str, Any]] = {**AUTH_ERRORS, 404: {"model": Problem}}
