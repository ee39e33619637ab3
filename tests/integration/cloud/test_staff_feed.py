"""Staff in the store feeds: every user who may work at a store reaches its edge, and leaves it again."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

from cloud.bootstrap import CloudServer
from cloud.edgelink import feed
from cloud.edgelink.model import FeedEntity, FeedItem
from tests.integration.cloud.auth_support import PASSWORD, create_user, session_client
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store
from tests.integration.cloud.edge_client import EdgeLinkClient, enroll_new


async def staff_items(cloud: CloudServer, store_id: str) -> dict[str, FeedItem]:
    """The staff items of a store's feed (tombstones included), by user id."""
    async with cloud.sessionmaker() as session:
        delta = await feed.read_delta(session, store_id, 0)
    return {i.entity_id: i for i in delta.items if i.entity is FeedEntity.STAFF}


async def region_of(tenant: Tenant, region_id: str, name: str) -> str:
    """A new store in an existing region; its id."""
    created = await tenant.api.post("/api/v1/stores", json={"region_id": region_id, "name": name})
    assert created.status_code == 201, created.text
    store_id: str = created.json()["id"]
    return store_id


async def test_a_store_user_reaches_only_their_stores_feed_with_a_verifiable_hash(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    other = await make_store(tenant_a.api, "Store Two")
    user = await create_user(tenant_a.api, "Li.Na", "staff", store_ids=[store_a.store_id])
    items = await staff_items(cloud, store_a.store_id)
    payload: dict[str, Any] = items[user["id"]].payload
    assert {k: v for k, v in payload.items() if k != "password_hash"} == {
        "id": user["id"],
        "username": "li.na",
        "display_name": "li.na",
        "role": "staff",
        "active": True,
    }
    assert PasswordHasher().verify(payload["password_hash"], PASSWORD)
    assert user["id"] not in await staff_items(cloud, other.store_id)


async def test_region_roles_reach_their_regions_stores_and_hq_reaches_every_store(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    other = await make_store(tenant_a.api, "Store Two")
    manager = await create_user(tenant_a.api, "region.boss", "region_manager", region_ids=[store_a.region_id])
    fixer = await create_user(tenant_a.api, "fixer", "maintainer", region_ids=[store_a.region_id])
    hq = await create_user(tenant_a.api, "hq.admin", "hq_admin")
    finance = await create_user(tenant_a.api, "books", "finance")
    first = await staff_items(cloud, store_a.store_id)
    second = await staff_items(cloud, other.store_id)
    assert {manager["id"], fixer["id"], hq["id"]} <= set(first)
    assert hq["id"] in second and manager["id"] not in second and fixer["id"] not in second
    assert finance["id"] not in first and finance["id"] not in second


async def test_a_new_store_receives_the_users_who_already_reach_it(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    manager = await create_user(tenant_a.api, "region.boss", "region_manager", region_ids=[store_a.region_id])
    hq = await create_user(tenant_a.api, "hq.admin", "hq_admin")
    clerk = await create_user(tenant_a.api, "clerk", "staff", store_ids=[store_a.store_id])
    new_store = await region_of(tenant_a, store_a.region_id, "Store Three")
    items = await staff_items(cloud, new_store)
    assert set(items) == {manager["id"], hq["id"]}
    assert clerk["id"] not in items


async def test_a_disabled_user_turns_inactive_and_a_moved_one_leaves_the_old_store(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    other = await make_store(tenant_a.api, "Store Two")
    clerk = await create_user(tenant_a.api, "clerk", "staff", store_ids=[store_a.store_id])
    cleaner = await create_user(tenant_a.api, "mop", "cleaner", store_ids=[store_a.store_id])
    changed = await tenant_a.api.patch(f"/api/v1/users/{clerk['id']}", json={"active": False})
    assert changed.status_code == 200, changed.text
    moved = await tenant_a.api.patch(f"/api/v1/users/{cleaner['id']}", json={"store_ids": [other.store_id]})
    assert moved.status_code == 200, moved.text
    first = await staff_items(cloud, store_a.store_id)
    assert first[clerk["id"]].payload["active"] is False and not first[clerk["id"]].deleted
    assert first[cleaner["id"]].deleted
    assert (await staff_items(cloud, other.store_id))[cleaner["id"]].payload["role"] == "cleaner"


async def test_a_changed_password_reaches_the_feed(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    clerk = await create_user(tenant_a.api, "clerk", "staff", store_ids=[store_a.store_id])
    client = await session_client(cloud, "clerk")
    async with client:
        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "a brand new secret"},
        )
    assert changed.status_code == 204, changed.text
    payload = (await staff_items(cloud, store_a.store_id))[clerk["id"]].payload
    assert PasswordHasher().verify(payload["password_hash"], "a brand new secret")


async def test_staff_travel_the_real_link_to_the_edge(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    clerk = await create_user(tenant_a.api, "clerk", "staff", store_ids=[store_a.store_id])
    created = (await tenant_a.api.post(f"/api/v1/stores/{store_a.store_id}/edges")).json()
    identity = await enroll_new(
        created["enroll_target"], created["ca_pem"].encode(), created["bootstrap_token"]
    )
    async with EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, identity) as client:
        await client.hello(identity.store_id, 0, identity.edge_id)
        data = (await client.recv_kind("store_data")).store_data
        staff = [c.staff for c in data.changes if c.WhichOneof("item") == "staff"]
        assert [(s.id, s.username, s.role, s.active) for s in staff] == [
            (clerk["id"], "clerk", "staff", True)
        ]
        assert PasswordHasher().verify(staff[0].password_hash, PASSWORD)
        await tenant_a.api.patch(f"/api/v1/users/{clerk['id']}", json={"active": False})
        delta = (await client.recv_kind("store_data")).store_data
        assert [(c.staff.id, c.staff.active) for c in delta.changes] == [(clerk["id"], False)]
