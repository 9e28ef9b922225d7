"""Users for admins: list, add, disable, rotate a token; 401 and 403 with what is missing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.api.registry_helpers import Api
from tests.tokens import auth


def test_an_admin_adds_a_user_whose_token_works_and_is_stored_hashed(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    admin = api.as_("admin")
    created = admin.post("/api/v1/users", json={"name": f"li-{api.site}", "role": "technician"})
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert body["user"]["role"] == "technician" and body["user"]["active_tokens"] == 1
    assert api.client.get("/api/v1/devices", headers=auth(token)).status_code == 200
    assert db.execute(
        "SELECT count(*) FROM api_tokens WHERE token_sha256 = %s", (token,)
    ).fetchone() == (0,)
    names = {u["name"] for u in admin.get("/api/v1/users").json()}
    assert {f"li-{api.site}", f"admin-{api.site}"} <= names
    again = admin.post("/api/v1/users", json={"name": f"li-{api.site}", "role": "viewer"})
    assert again.status_code == 409
    for bad in (
        {"name": "has space", "role": "viewer"},
        {"name": "x", "role": "root"},
        {"name": "x"},
    ):
        assert admin.post("/api/v1/users", json=bad).status_code == 422


def test_rotating_revokes_the_old_token_and_disabling_stops_every_token(api: Api) -> None:
    admin = api.as_("admin")
    name = f"wang-{api.site}"
    old = admin.post("/api/v1/users", json={"name": name, "role": "operator"}).json()["token"]
    rotated = admin.post(f"/api/v1/users/{name}/rotate-token")
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old and rotated.json()["user"]["active_tokens"] == 1
    assert api.client.get("/api/v1/devices", headers=auth(old)).status_code == 401
    assert api.client.get("/api/v1/devices", headers=auth(new)).status_code == 200
    disabled = admin.post(f"/api/v1/users/{name}/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    refused = api.client.get("/api/v1/devices", headers=auth(new))
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"]
    assert admin.post(f"/api/v1/users/{name}/rotate-token").status_code == 409
    assert admin.post(f"/api/v1/users/nobody-{api.site}/disable").status_code == 404
    assert admin.post(f"/api/v1/users/nobody-{api.site}/rotate-token").status_code == 404


def test_the_last_admin_cannot_be_disabled(settings: Settings) -> None:
    from firewatch.testing import own_database

    with (
        own_database("fw_users") as url,
        TestClient(create_app(settings.model_copy(update={"database_url": url}))) as client,
    ):
        api = Api(client, url, "solo")
        refused = api.as_("admin").post("/api/v1/users/admin-solo/disable")
        assert refused.status_code == 409 and "last admin" in refused.json()["detail"]


def test_user_writes_are_audited_with_the_admin(api: Api, db: psycopg.Connection[Any]) -> None:
    admin = api.as_("admin")
    name = f"zhao-{api.site}"
    admin.post("/api/v1/users", json={"name": name, "role": "viewer"})
    admin.post(f"/api/v1/users/{name}/rotate-token")
    admin.post(f"/api/v1/users/{name}/disable")
    rows = db.execute(
        "SELECT actor, action FROM audit_log WHERE subject_type = 'user' AND subject_id = %s"
        " ORDER BY id",
        (name,),
    ).fetchall()
    assert rows == [(f"admin-{api.site}", a) for a in ("create", "rotate_token", "disable")]


@pytest.mark.parametrize("role", ["technician", "operator", "viewer"])
def test_only_admins_manage_users(api: Api, role: str) -> None:
    who = api.as_(role)
    for response in (
        who.get("/api/v1/users"),
        who.post("/api/v1/users", json={"name": "x", "role": "viewer"}),
        who.post(f"/api/v1/users/admin-{api.site}/disable"),
        who.post(f"/api/v1/users/admin-{api.site}/rotate-token"),
    ):
        assert response.status_code == 403
        assert response.json()["detail"] == (
            f"role {role!r} may not do this; it needs one of admin"
        )
    missing = api.client.get("/api/v1/users")
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]


async def _until_waiting(watcher: psycopg.AsyncConnection[Any], pid: int) -> None:
    """Until the backend ``pid`` waits for a lock another transaction holds."""
    import asyncio

    for _ in range(200):
        cur = await watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
            (pid,),
        )
        if await cur.fetchone() == (1,):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the second transaction never waited for the first")


def test_two_admins_disabling_each_other_at_once_leave_one_admin() -> None:
    import asyncio

    from firewatch.testing import own_database
    from store.users import LastAdmin, add_user, disable_user

    async def go(url: str) -> None:
        async with (
            await psycopg.AsyncConnection.connect(url, autocommit=True) as setup,
            await psycopg.AsyncConnection.connect(url) as one,
            await psycopg.AsyncConnection.connect(url) as two,
        ):
            await add_user(setup, name="admin-a", role="admin")
            await add_user(setup, name="admin-b", role="admin")
            await disable_user(one, "admin-b")  # holds its transaction open
            second = asyncio.create_task(disable_user(two, "admin-a"))
            await _until_waiting(setup, two.info.backend_pid)
            await one.commit()
            with pytest.raises(LastAdmin):
                await asyncio.wait_for(second, timeout=10)
            await two.rollback()
            cur = await setup.execute(
                "SELECT name FROM users WHERE role = 'admin' AND NOT disabled"
            )
            assert await cur.fetchall() == [("admin-a",)]

    with own_database("fw_admins") as url:
        asyncio.run(go(url))


def test_two_rotations_at_once_leave_one_live_token(database_url: str, site: str) -> None:
    import asyncio

    from store.users import add_user, principal_for_token, rotate_token

    name = f"wu-{site}"

    async def go() -> None:
        async with (
            await psycopg.AsyncConnection.connect(database_url, autocommit=True) as setup,
            await psycopg.AsyncConnection.connect(database_url) as one,
            await psycopg.AsyncConnection.connect(database_url) as two,
        ):
            await add_user(setup, name=name, role="viewer")
            first = await rotate_token(one, name)
            rotating = asyncio.create_task(rotate_token(two, name))
            await _until_waiting(setup, two.info.backend_pid)
            await one.commit()
            second = await asyncio.wait_for(rotating, timeout=10)
            await two.commit()
            assert await principal_for_token(setup, first) is None
            assert await principal_for_token(setup, second) is not None
            cur = await setup.execute(
                "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE u.name = %s AND t.revoked_at IS NULL",
                (name,),
            )
            assert await cur.fetchone() == (1,)

    asyncio.run(go())
