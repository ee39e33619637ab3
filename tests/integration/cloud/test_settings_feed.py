"""Session settings reach the store's edge: chain and store settings on the store, the type's on rooms."""

from __future__ import annotations

from typing import Any

from cloud.bootstrap import CloudServer
from cloud.edgelink import feed
from cloud.edgelink.model import FeedEntity
from cloud.edgelink.server import change_to_proto
from tests.integration.cloud.conftest import StoreIds, Tenant


async def _items(cloud: CloudServer, store_id: str) -> dict[tuple[FeedEntity, str], dict[str, Any]]:
    async with cloud.sessionmaker() as session:
        snapshot = await feed.read_sync(session, store_id, 0, cloud.clock.now())
    return {(i.entity, i.entity_id): i.payload for i in snapshot.items}


async def test_chain_store_and_room_type_settings_reach_the_edge_in_store_data(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    base = "/api/v1/booking-settings"
    chain = await api.put(f"{base}/chain", json={"values": {"warning_lead_min": 10, "cleaning_gap_min": 20}})
    assert chain.status_code == 200, chain.text
    store = await api.put(f"{base}/stores/{store_a.store_id}", json={"values": {"cleaning_gap_min": 45}})
    assert store.status_code == 200, store.text
    ktv = await api.put(f"{base}/room-types/ktv", json={"values": {"warning_lead_min": 15}})
    assert ktv.status_code == 200, ktv.text

    items = await _items(cloud, store_a.store_id)
    info = items[(FeedEntity.STORE, store_a.store_id)]
    assert info["chain_settings"] == {"warning_lead_min": 10, "cleaning_gap_min": 20}
    assert info["store_settings"] == {"cleaning_gap_min": 45}
    assert items[(FeedEntity.ROOM, store_a.other_room_id)]["type_settings"] == {"warning_lead_min": 15}
    assert items[(FeedEntity.ROOM, store_a.room_id)]["type_settings"] == {}
    # What the edge receives over the link (the gRPC conversion keeps the maps).
    async with cloud.sessionmaker() as session:
        snapshot = await feed.read_sync(session, store_a.store_id, 0, cloud.clock.now())
    protos = {i.entity_id: change_to_proto(i) for i in snapshot.items}
    assert dict(protos[store_a.store_id].store.store_settings) == {"cleaning_gap_min": 45}
    assert dict(protos[store_a.other_room_id].room.type_settings) == {"warning_lead_min": 15}


async def test_clearing_a_level_takes_its_settings_off_the_edge(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    path = f"/api/v1/booking-settings/stores/{store_a.store_id}"
    assert (await api.put(path, json={"values": {"warning_lead_min": 3}})).status_code == 200
    info = (await _items(cloud, store_a.store_id))[(FeedEntity.STORE, store_a.store_id)]
    assert info["store_settings"] == {"warning_lead_min": 3}
    assert (await api.put(path, json={"values": {}})).status_code == 200
    info = (await _items(cloud, store_a.store_id))[(FeedEntity.STORE, store_a.store_id)]
    assert info["store_settings"] == {}


async def test_a_bad_session_setting_is_refused_by_its_limits(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    path = f"/api/v1/booking-settings/stores/{store_a.store_id}"
    refused = await tenant_a.api.put(path, json={"values": {"warning_lead_min": 500}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"].endswith("warning_lead_min")
