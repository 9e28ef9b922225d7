"""Shared by the registry's API tests: tokens for each role and a client on the real database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.tokens import auth, token

ROLES = ("admin", "technician", "operator", "viewer")


class Api:
    """A client that speaks as one role at a time: ``api.as_("viewer").get(...)``."""

    def __init__(self, client: TestClient, database_url: str, site: str) -> None:
        self.client, self.site = client, site
        self.tokens = {role: token(database_url, f"{role}-{site}", role) for role in ROLES}

    def as_(self, role: str) -> _As:
        return _As(self.client, auth(self.tokens[role]))

    def building(self, suffix: str = "B1", **fields: Any) -> str:
        building_id = f"{self.site}-{suffix}"
        response = self.as_("technician").post(
            "/api/v1/buildings", json={"id": building_id, "name": suffix, **fields}
        )
        assert response.status_code == 201, response.text
        return building_id

    def device(self, suffix: str, kind: str = "smoke", **fields: Any) -> dict[str, Any]:
        params = {"status": fields.pop("status")} if "status" in fields else None
        response = self.as_("technician").post(
            "/api/v1/devices",
            json={"id": f"{self.site}-{suffix}", "kind": kind, "site": self.site, **fields},
            params=params,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


class _As:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self.headers, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)
