"""Request and response bodies; the OpenAPI document is generated from these."""

from __future__ import annotations

from pydantic import BaseModel

# The registry's bodies live in api.registry_schemas; these names stay importable from here.
from api.registry_schemas import DeviceCreate, DeviceRead

__all__ = ["DeviceCreate", "DeviceRead", "Problem"]


class Problem(BaseModel):
    detail: str
