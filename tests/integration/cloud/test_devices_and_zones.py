"""Alarm zones of rooms and store-wide devices, and devices changed in place, over the real API and feed."""

from __future__ import annotations

from typing import Any

from cloud.bootstrap import CloudServer
from cloud.edgelink import feed
from cloud.edgelink.model import FeedEntity, FeedItem
from tests.integration.cloud.auth_support import create_user, session_client
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store


async def feed_since(cloud: CloudServer, store_id: str, since: int) -> list[FeedItem]:
    """The store's feed items changed after `since`."""
    async with cloud.sessionmaker() as session:
        return list((await feed.read_delta(session, store_id, since)).items)


async def cursor_of(cloud: CloudServer, store_id: str) -> int:
    async with cloud.sessionmaker() as session:
        return await feed.store_cursor(session, store_id)


async def audit_of(tenant: Tenant, action: str, entity_id: str) -> list[dict[str, Any]]:
    page = await tenant.api.get("/api/v1/audit", params={"action": action, "entity_id": entity_id})
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def test_rooms_take_a_zone_that_reaches_the_feed_and_bad_zones_are_refused(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    created = await api.post(
        "/api/v1/rooms",
        json={"store_id": store_a.store_id, "name": "KTV 9", "kind": "ktv", "zone": "Floor 2"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["zone"] == "Floor 2"
    start = await cursor_of(cloud, store_a.store_id)
    moved = await api.patch(f"/api/v1/rooms/{store_a.room_id}", json={"zone": "west"})
    assert moved.status_code == 200 and moved.json()["zone"] == "west"
    [item] = await feed_since(cloud, store_a.store_id, start)
    assert (item.entity, item.payload["zone"]) == (FeedEntity.ROOM, "west")
    bad = await api.patch(f"/api/v1/rooms/{store_a.room_id}", json={"zone": "<script>"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_zone"
    assert (await api.get(f"/api/v1/rooms/{store_a.room_id}")).json()["zone"] == "west"


async def test_only_store_wide_devices_carry_their_own_zone(tenant_a: Tenant, store_a: StoreIds) -> None:
    api = tenant_a.api
    hall = await api.post(
        "/api/v1/devices",
        json={
            "id": "smoke-hall",
            "store_id": store_a.store_id,
            "kind": "sensor",
            "protocol": "mqtt",
            "zone": "east",
        },
    )
    assert hall.status_code == 201, hall.text
    assert hall.json()["zone"] == "east"
    in_room = await api.post(
        "/api/v1/devices",
        json={"room_id": store_a.room_id, "kind": "sensor", "protocol": "mqtt", "zone": "east"},
    )
    assert in_room.status_code == 422 and in_room.json()["code"] == "zone_on_room_device"


async def test_a_device_is_changed_in_place_audited_and_republished(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    created = await api.post(
        "/api/v1/devices",
        json={
            "id": "pw-9",
            "room_id": store_a.room_id,
            "kind": "power",
            "protocol": "modbus",
            "config": {"host": "10.0.0.5", "port": "502"},
        },
    )
    assert created.status_code == 201, created.text
    start = await cursor_of(cloud, store_a.store_id)
    changed = await api.patch(
        "/api/v1/devices/pw-9",
        json={"room_id": store_a.other_room_id, "config": {"host": "10.0.0.6", "port": "1502", "unit": "2"}},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["room_id"], body["config"]["port"], body["created_at"]) == (
        store_a.other_room_id,
        "1502",
        created.json()["created_at"],
    )
    [item] = await feed_since(cloud, store_a.store_id, start)
    assert (item.entity, item.entity_id, item.deleted) == (FeedEntity.DEVICE, "pw-9", False)
    assert (item.payload["room_id"], item.payload["config"]["host"]) == (store_a.other_room_id, "10.0.0.6")
    [entry] = await audit_of(tenant_a, "device.update", "pw-9")
    assert entry["before"]["config"]["host"] == "10.0.0.5"
    assert entry["after"]["config"]["host"] == "10.0.0.6"

    # Made store-wide, it may take a zone; a change that changes nothing records nothing.
    wide = await api.patch("/api/v1/devices/pw-9", json={"room_id": None, "zone": "east"})
    assert wide.status_code == 200 and (wide.json()["room_id"], wide.json()["zone"]) == (None, "east")
    before = await cursor_of(cloud, store_a.store_id)
    same = await api.patch("/api/v1/devices/pw-9", json={"zone": "east"})
    assert same.status_code == 200
    assert await cursor_of(cloud, store_a.store_id) == before
    assert len(await audit_of(tenant_a, "device.update", "pw-9")) == 2


async def test_a_device_change_is_checked_like_a_new_device(
    cloud: CloudServer, tenant_a: Tenant, tenant_b: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    await api.post(
        "/api/v1/devices",
        json={"id": "lk-7", "room_id": store_a.room_id, "kind": "lock", "protocol": "mqtt"},
    )
    other = await make_store(api, "Store Two")
    start = await cursor_of(cloud, store_a.store_id)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"protocol": "modbus", "kind": "power"}, 422, "missing_config"),
        ({"config": {"port": "99999"}}, 422, "invalid_config"),
        ({"room_id": other.room_id}, 422, "room_not_in_store"),
        ({"zone": "east"}, 422, "zone_on_room_device"),
        ({"room_id": "rm-nope"}, 404, "room_not_found"),
    ]
    for change, status, code in cases:
        response = await api.patch("/api/v1/devices/lk-7", json=change)
        assert (response.status_code, response.json()["code"]) == (status, code), (change, response.text)
    foreign = await tenant_b.api.patch("/api/v1/devices/lk-7", json={"config": {}})
    assert (foreign.status_code, foreign.json()["code"]) == (404, "device_not_found")
    assert await cursor_of(cloud, store_a.store_id) == start
    lock = (await api.get("/api/v1/devices/lk-7")).json()
    assert (lock["room_id"], lock["kind"], lock["zone"]) == (store_a.room_id, "lock", "")


async def test_staff_of_a_store_may_not_change_its_devices(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    await tenant_a.api.post(
        "/api/v1/devices",
        json={"id": "lk-8", "room_id": store_a.room_id, "kind": "lock", "protocol": "mqtt"},
    )
    await create_user(tenant_a.api, "clerk", "staff", store_ids=[store_a.store_id])
    client = await session_client(cloud, "clerk")
    async with client:
        refused = await client.patch("/api/v1/devices/lk-8", json={"config": {"topic": "x"}})
    assert refused.status_code == 403
