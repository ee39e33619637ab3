"""Accounts: argon2 passwords, login sessions and cookies, lockout, expiry, users API, audit search."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cloud.auth.demo import DEMO_USERS, seed_demo_users
from cloud.auth.model import LOCKOUT, SESSION_TTL
from cloud.auth.tables import User, UserSession
from cloud.bootstrap import CloudServer
from cloud.deps import SESSION_COOKIE
from tests.integration.cloud.auth_support import (
    PASSWORD,
    create_user,
    fake_clock,
    fake_clock_cloud,
    login,
    session_client,
)
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store, new_tenant


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud on a FakeClock with the real (default) argon2 parameters."""
    async with fake_clock_cloud(db_url, tmp_path / "cloud") as server:
        yield server


@pytest.fixture
async def hq(cloud: CloudServer) -> AsyncIterator[Tenant]:
    """A tenant and its API token (HQ admin)."""
    tenant = await new_tenant(cloud, "Auth Chain")
    async with tenant.api:
        yield tenant


@pytest.fixture
async def store(hq: Tenant) -> StoreIds:
    """A region and a store of the tenant."""
    return await make_store(hq.api)


async def test_passwords_are_stored_as_argon2_hashes_and_sessions_as_sha256(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    created = await create_user(hq.api, "Manager@Example.com", "store_manager", store_ids=[store.store_id])
    assert created["login"] == "manager@example.com" and "password_hash" not in created
    response = await login(cloud, "manager@example.com")
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token.startswith("ghs_") and response.json()["me"]["role"] == "store_manager"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}={token}" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    async with cloud.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.login == "manager@example.com"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        rows = list(await session.scalars(select(UserSession)))
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]


async def test_the_session_cookie_signs_in_and_logout_ends_it(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "staff@example.com", "staff", store_ids=[store.store_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        response = await browser.post(
            "/api/v1/auth/login", json={"login": "staff@example.com", "password": PASSWORD}
        )
        assert response.status_code == 200
        me = await browser.get("/api/v1/auth/me")  # the cookie alone
        assert me.status_code == 200 and me.json()["store_ids"] == [store.store_id]
        assert (await browser.get("/api/v1/rooms", params={"store_id": store.store_id})).status_code == 200
        forged = await browser.post("/api/v1/auth/logout")  # the cookie alone cannot write
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
        wrong = await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "0" * 40})
        assert wrong.status_code == 403 and wrong.json()["code"] == "csrf_failed"
        csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
        assert (await browser.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
        browser.cookies.set(SESSION_COOKIE, response.json()["token"])
        assert (await browser.get("/api/v1/auth/me")).json()["code"] == "session_expired"


async def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "cleaner@example.com", "cleaner", store_ids=[store.store_id])
    codes = [(await login(cloud, "cleaner@example.com", "wrong password!")).json()["code"] for _ in range(5)]
    assert codes == ["invalid_credentials"] * 4 + ["account_locked"]
    locked = await login(cloud, "cleaner@example.com")  # even the right password
    assert locked.status_code == 401 and locked.json()["code"] == "account_locked"
    fake_clock(cloud).advance(LOCKOUT.total_seconds() - 1)
    assert (await login(cloud, "cleaner@example.com")).json()["code"] == "account_locked"
    fake_clock(cloud).advance(1)
    assert (await login(cloud, "cleaner@example.com")).status_code == 200
    page = (await hq.api.get("/api/v1/audit", params={"entity": "user", "action": "user.lock"})).json()
    assert [e["actor"] for e in page["items"]] == ["user:cleaner@example.com"]
    unknown = await login(cloud, "nobody@example.com")
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_credentials"


async def test_a_session_expires_after_its_lifetime(cloud: CloudServer, hq: Tenant, store: StoreIds) -> None:
    await create_user(hq.api, "finance@example.com", "finance")
    async with await session_client(cloud, "finance@example.com") as client:
        assert (await client.get("/api/v1/auth/me")).status_code == 200
        fake_clock(cloud).advance(SESSION_TTL.total_seconds())
        expired = await client.get("/api/v1/auth/me")
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"


async def test_changing_ones_password_ends_ones_other_sessions(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "account@example.com", "account_manager")
    async with (
        await session_client(cloud, "account@example.com") as first,
        await session_client(cloud, "account@example.com") as second,
    ):
        wrong = await first.post(
            "/api/v1/auth/password", json={"current_password": "nope", "new_password": "a new long password"}
        )
        assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
        changed = await first.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "a new long password"},
        )
        assert changed.status_code == 204
        assert (await first.get("/api/v1/auth/me")).status_code == 200
        assert (await second.get("/api/v1/auth/me")).status_code == 401
    assert (await login(cloud, "account@example.com")).status_code == 401
    assert (await login(cloud, "account@example.com", "a new long password")).status_code == 200
    assert (
        await hq.api.post("/api/v1/auth/password", json={"current_password": "x", "new_password": "y" * 12})
    ).status_code == 403


async def test_api_tokens_keep_acting_as_hq_admin_of_their_tenant(hq: Tenant) -> None:
    me = (await hq.api.get("/api/v1/auth/me")).json()
    assert me["kind"] == "api_token" and me["role"] == "hq_admin" and me["tenant_id"] == hq.id
    assert (await hq.api.get("/api/v1/audit")).status_code == 200


async def test_a_region_manager_manages_only_the_staff_of_their_region(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    other = await make_store(hq.api, "Other Store")
    await create_user(hq.api, "region@example.com", "region_manager", region_ids=[store.region_id])
    await create_user(hq.api, "far-staff@example.com", "staff", store_ids=[other.store_id])
    async with await session_client(cloud, "region@example.com") as region:
        mine = await create_user(region, "mine@example.com", "staff", store_ids=[store.store_id])
        assert mine["store_ids"] == [store.store_id]
        refused = [
            await region.post(
                "/api/v1/users",
                json={"login": login_name, "role": role, "password": PASSWORD, **scope},
            )
            for login_name, role, scope in (
                ("x1@example.com", "staff", {"store_ids": [other.store_id]}),
                ("x2@example.com", "hq_admin", {}),
                ("x3@example.com", "region_manager", {"region_ids": [store.region_id]}),
            )
        ]
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert [u["login"] for u in (await region.get("/api/v1/users")).json()] == ["mine@example.com"]
        promoted = await region.patch(f"/api/v1/users/{mine['id']}", json={"role": "store_manager"})
        assert promoted.status_code == 200 and promoted.json()["role"] == "store_manager"
        moved = await region.patch(f"/api/v1/users/{mine['id']}", json={"store_ids": [other.store_id]})
        assert moved.status_code == 403
    everyone = {u["login"] for u in (await hq.api.get("/api/v1/users")).json()}
    assert everyone == {"region@example.com", "far-staff@example.com", "mine@example.com"}
    weak = await hq.api.post(
        "/api/v1/users", json={"login": "w@example.com", "role": "finance", "password": "short"}
    )
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    taken = await hq.api.post(
        "/api/v1/users", json={"login": "MINE@example.com", "role": "finance", "password": PASSWORD}
    )
    assert taken.status_code == 409


async def test_disabling_a_user_ends_their_sessions(cloud: CloudServer, hq: Tenant, store: StoreIds) -> None:
    user = await create_user(hq.api, "gone@example.com", "staff", store_ids=[store.store_id])
    async with await session_client(cloud, "gone@example.com") as client:
        assert (await hq.api.patch(f"/api/v1/users/{user['id']}", json={"active": False})).status_code == 200
        assert (await client.get("/api/v1/auth/me")).status_code == 401
    assert (await login(cloud, "gone@example.com")).status_code == 401


async def test_user_changes_are_audited_with_the_user_as_actor_and_hq_can_search_them(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "boss@example.com", "store_manager", store_ids=[store.store_id])
    await create_user(hq.api, "money@example.com", "finance")
    clock = fake_clock(cloud)
    before_change = clock.now()
    clock.advance(60)
    async with await session_client(cloud, "boss@example.com") as boss:
        renamed = await boss.patch(f"/api/v1/rooms/{store.room_id}", json={"name": "Mahjong Deluxe"})
        assert renamed.status_code == 200
        assert (await boss.get("/api/v1/audit")).status_code == 403
    async with await session_client(cloud, "money@example.com") as finance:
        page = await finance.get(
            "/api/v1/audit",
            params={"entity": "room", "entity_id": store.room_id, "actor": "user:boss@example.com"},
        )
        assert (await finance.post("/api/v1/audit", json={})).status_code == 405
    [entry] = page.json()["items"]
    assert entry["action"] == "room.update" and entry["after"]["name"] == "Mahjong Deluxe"
    assert entry["before"]["name"] == "Mahjong 1"
    since = {"from": (before_change + (clock.now() - before_change) / 2).isoformat()}
    recent = (await hq.api.get("/api/v1/audit", params=since)).json()["items"]
    assert {e["actor"] for e in recent} >= {"user:boss@example.com"}
    assert "token:initial" not in {e["actor"] for e in recent}
    until = (await hq.api.get("/api/v1/audit", params={"to": since["from"]})).json()["items"]
    assert "user:boss@example.com" not in {e["actor"] for e in until if e["action"] == "room.update"}
    first = (await hq.api.get("/api/v1/audit", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_before_id"] == first["items"][-1]["id"]
    second = (
        await hq.api.get("/api/v1/audit", params={"limit": 2, "before_id": first["next_before_id"]})
    ).json()
    assert all(e["id"] < first["next_before_id"] for e in second["items"])


async def test_demo_users_are_seeded_once_per_role_and_can_log_in(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    logins = await seed_demo_users(
        cloud.sessionmaker,
        tenant_id=hq.id,
        region_id=store.region_id,
        store_id=store.store_id,
        password="demo-password-1",
    )
    assert {d.role for d in logins} == {role.value for _, _, role, _ in DEMO_USERS}
    again = await seed_demo_users(
        cloud.sessionmaker,
        tenant_id=hq.id,
        region_id=store.region_id,
        store_id=store.store_id,
        password="demo-password-2",
    )
    assert [d.login for d in again] == [d.login for d in logins]
    assert (await login(cloud, "manager@demo", "demo-password-1")).status_code == 401
    me = (await login(cloud, "manager@demo", "demo-password-2")).json()["me"]
    assert me["role"] == "store_manager" and me["store_ids"] == [store.store_id]
    maintainer = (await login(cloud, "maintainer@demo", "demo-password-2")).json()["me"]
    assert maintainer["region_ids"] == [store.region_id] and maintainer["store_ids"] == [store.store_id]
