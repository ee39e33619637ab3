"""The customer journey through the whole chain, with the cloud up, down, and not yet told."""

from __future__ import annotations

import time
from typing import Any

from gatehouse.chain import DemoChain
from tests.e2e.conftest import book_now, booking_status, door_opened, edge_knows, redemptions_of, scan
from tests.support.waiting import eventually


async def test_a_booked_customer_scans_the_code_and_the_door_opens_and_the_cloud_records_it_once(
    chain: DemoChain,
) -> None:
    store = chain.store("Demo Store A")
    room = store.room("Mahjong 1")
    booking = await book_now(chain, room)
    await edge_knows(store, booking)

    await scan(store, room, booking, time.time())
    await door_opened(store, room, times=1)
    assert store.devices is not None
    switch = store.devices.switch(room.power)

    async def powered() -> bool:
        return switch.channels[0] is True

    await eventually(powered, what="the room's power on")  # switched on beside the redemption's commit
    await booking_status(chain, booking["ref"], "redeemed")

    await scan(store, room, booking, time.time())  # re-entry during the session
    await door_opened(store, room, times=2)

    async def reentry_reached_the_cloud() -> bool:
        events = (await chain.client().get(f"/api/v1/stores/{store.id}/events")).json()
        return any(e["kind"] == "reentry" for e in events)

    await eventually(reentry_reached_the_cloud, what="the reentry event")
    redemptions = await redemptions_of(chain, store, booking["ref"])
    assert len(redemptions) == 1
    assert redemptions[0]["known_to_edge"] is True


async def test_a_code_for_another_room_does_not_open_the_door(chain: DemoChain) -> None:
    store = chain.store("Demo Store A")
    booked, other = store.room("KTV 1"), store.room("KTV 2")
    booking = await book_now(chain, booked)

    await scan(store, other, booking, time.time())

    async def refusal_reached_the_cloud() -> list[dict[str, Any]]:
        events = (await chain.client().get(f"/api/v1/stores/{store.id}/events")).json()
        return [e for e in events if e["kind"] == "redemption_refused"]

    refused = await eventually(refusal_reached_the_cloud, what="the refusal event")
    assert refused[0]["payload"]["reason"] == "wrong_room"
    assert store.devices is not None and store.devices.lock(other.lock).unlocks == 0


async def test_with_the_cloud_down_the_door_opens_and_the_redemption_arrives_once_when_it_returns(
    chain: DemoChain,
) -> None:
    store = chain.store("Demo Store A")
    room = store.room("Mahjong 2")
    booking = await book_now(chain, room)
    edge = store.running_edge()
    await edge_knows(store, booking)
    await chain.stop_cloud()

    await scan(store, room, booking, time.time())
    await door_opened(store, room, times=1)
    assert await edge.store.outbox_depth() >= 1, "the redemption waits in the outbox"

    await chain.start_cloud()
    await booking_status(chain, booking["ref"], "redeemed", timeout=20)

    async def outbox_drained() -> bool:
        return await edge.store.outbox_depth() == 0

    await eventually(outbox_drained, timeout=20, what="the outbox to drain")
    assert len(await redemptions_of(chain, store, booking["ref"])) == 1


async def test_a_booking_made_while_the_edge_is_offline_opens_its_door(chain: DemoChain) -> None:
    store = chain.store("Demo Store A")
    room = store.room("Tea Room")
    await chain.stop_edge(store)
    booking = await book_now(chain, room)
    await chain.stop_cloud()  # the edge comes back with no way to learn of the booking

    edge = await chain.start_edge(store, wait_synced=False)
    assert await edge.store.booking(booking["ref"]) is None
    await scan(store, room, booking, time.time())
    await door_opened(store, room, times=1)

    await chain.start_cloud()
    await booking_status(chain, booking["ref"], "redeemed", timeout=20)
    redemptions = await redemptions_of(chain, store, booking["ref"])
    assert len(redemptions) == 1
    assert redemptions[0]["known_to_edge"] is False
