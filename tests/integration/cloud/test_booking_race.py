"""A hundred customers race for one slot over the real HTTP app: exactly one wins, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from cloud.booking.tables import Booking
from cloud.bootstrap import CloudServer
from tests.integration.cloud.conftest import StoreIds, Tenant, future_day

RACERS = 100
DAY = future_day(2)


async def test_a_hundred_concurrent_holds_of_one_slot_leave_one_winner_and_ninety_nine_named_409s(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    body = {
        "room_id": store_a.room_id,
        "starts_at": f"{DAY}T14:00:00+08:00",
        "ends_at": f"{DAY}T16:00:00+08:00",
        "party_size": 2,
        "customer_name": "Racer",
        "phone": "13800009999",
    }
    # A slot that only partly overlaps still loses to whoever holds the room first.
    late = {**body, "starts_at": f"{DAY}T15:00:00+08:00", "ends_at": f"{DAY}T17:00:00+08:00"}
    responses = await asyncio.gather(
        *(tenant_a.api.post("/api/v1/holds", json=body if i % 4 else late) for i in range(RACERS))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (RACERS - 1), statuses
    winner = next(r.json() for r in responses if r.status_code == 201)
    for response in responses:
        if response.status_code != 409:
            continue
        problem = response.json()
        assert problem["code"] == "slot_taken" and problem["status"] == 409
        assert problem["conflict"]["starts_at"] == winner["starts_at"].replace("Z", "+00:00")
        assert problem["conflict"]["ends_at"] == winner["ends_at"].replace("Z", "+00:00")
        assert problem["conflict"]["kind"] == "hold"
    async with cloud.sessionmaker() as session:
        held = await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.room_id == store_a.room_id)
        )
    assert held == 1
