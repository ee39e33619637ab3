"""The store feed on a real database: snapshots, deltas in cursor order, tombstones, concurrent writers."""

from __future__ import annotations

import asyncio

from cloud.bootstrap import CloudServer
from cloud.edgelink import feed
from cloud.edgelink.model import FeedEntity
from tests.integration.cloud.conftest import StoreIds, Tenant, future_day

CUSTOMER = {"customer_name": "Han Meimei", "phone": "13900005678"}
DAY = future_day()


def slot(hour: int) -> dict[str, str]:
    """A one-hour slot (UTC) on a day inside the booking window."""
    return {
        "starts_at": f"{DAY}T{hour:02d}:00:00+00:00",
        "ends_at": f"{DAY}T{hour + 1:02d}:00:00+00:00",
    }


async def test_a_snapshot_holds_every_live_item_and_the_store_cursor(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    await api.post(
        "/api/v1/devices", json={"id": "lk-1", "room_id": store_a.room_id, "kind": "lock", "protocol": "mqtt"}
    )
    booking = (
        await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **slot(10), **CUSTOMER})
    ).json()
    async with cloud.sessionmaker() as session:
        snapshot = await feed.read_sync(session, store_a.store_id, 0, cloud.clock.now())
        cursor = await feed.store_cursor(session, store_a.store_id)
    assert snapshot.snapshot and snapshot.cursor == cursor == 5
    assert [(i.entity, i.cursor) for i in snapshot.items] == [
        (FeedEntity.STORE, 1),
        (FeedEntity.ROOM, 2),
        (FeedEntity.ROOM, 3),
        (FeedEntity.DEVICE, 4),
        (FeedEntity.BOOKING, 5),
    ]
    store_item = snapshot.items[0].payload
    assert store_item["key_versions"] == [1] and store_item["early_grace_s"] == 900
    assert snapshot.items[4].payload["ref"] == booking["ref"]
    assert snapshot.items[4].payload["phone_last4"] == "5678"
    assert "phone" not in snapshot.items[4].payload


async def test_a_delta_carries_changes_after_the_cursor_in_order_with_tombstones(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    await api.post(
        "/api/v1/devices", json={"id": "lk-2", "room_id": store_a.room_id, "kind": "lock", "protocol": "mqtt"}
    )
    ref = (
        await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **slot(10), **CUSTOMER})
    ).json()["ref"]
    async with cloud.sessionmaker() as session:
        start = await feed.store_cursor(session, store_a.store_id)
    await api.post(f"/api/v1/bookings/{ref}/cancel")
    await api.delete("/api/v1/devices/lk-2")
    await api.patch(f"/api/v1/stores/{store_a.store_id}", json={"name": "Renamed"})
    async with cloud.sessionmaker() as session:
        delta = await feed.read_sync(session, store_a.store_id, start, cloud.clock.now())
        snapshot = await feed.read_sync(session, store_a.store_id, 0, cloud.clock.now())
        beyond = await feed.read_sync(session, store_a.store_id, start + 100, cloud.clock.now())
    assert not delta.snapshot and delta.cursor == start + 3
    assert [(i.entity, i.entity_id, i.deleted) for i in delta.items] == [
        (FeedEntity.BOOKING, ref, False),
        (FeedEntity.DEVICE, "lk-2", True),
        (FeedEntity.STORE, store_a.store_id, False),
    ]
    assert delta.items[0].payload["status"] == "cancelled"
    assert delta.items[2].payload["name"] == "Renamed"
    assert all(not i.deleted for i in snapshot.items)
    assert "lk-2" not in {i.entity_id for i in snapshot.items}
    assert beyond.snapshot, "a cursor this database never issued means the edge needs a snapshot"


async def test_concurrent_changes_of_one_store_get_distinct_gapless_cursors(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    async with cloud.sessionmaker() as session:
        start = await feed.store_cursor(session, store_a.store_id)
    rooms = (store_a.room_id, store_a.other_room_id)
    responses = await asyncio.gather(
        *(
            tenant_a.api.post("/api/v1/bookings", json={"room_id": rooms[i % 2], **slot(i), **CUSTOMER})
            for i in range(8)
        )
    )
    assert [r.status_code for r in responses] == [201] * 8
    async with cloud.sessionmaker() as session:
        delta = await feed.read_delta(session, store_a.store_id, start)
    assert [i.cursor for i in delta.items] == list(range(start + 1, start + 9))


async def test_only_one_of_many_concurrent_bookings_of_one_slot_wins(
    tenant_a: Tenant, store_a: StoreIds
) -> None:
    responses = await asyncio.gather(
        *(
            tenant_a.api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **slot(14), **CUSTOMER})
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_taken"}
