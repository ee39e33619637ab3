"""A booking paid through the provider and cancelled through the API stops opening its door at once."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gatehouse.chain import DemoChain
from tests.e2e.conftest import booking_status, edge_knows, scan
from tests.support.waiting import eventually


async def _first_offered_slot(chain: DemoChain, room_id: str) -> tuple[str, str]:
    """The first slot the booking page offers for the room (today, else tomorrow)."""
    cloud = chain.running_cloud()
    async with httpx.AsyncClient(base_url=cloud.http_url) as customer:
        for days in (0, 1):
            day = (datetime.now(UTC) + timedelta(hours=8, days=days)).date()  # the demo stores' local day
            page = await customer.get(f"/book/rooms/{room_id}", params={"day": day.isoformat(), "party": 2})
            offered = re.findall(r'name="slot" value="([^"]+)"', page.text)
            if offered:
                start, _, end = offered[0].partition("|")
                return start, end
    raise AssertionError("the booking page offers no slot")


async def test_a_cancelled_booking_is_refused_as_revoked_at_its_door_and_the_door_stays_shut(
    chain: DemoChain,
) -> None:
    store = chain.store("Demo Store A")
    room = store.room("Mahjong 1")
    api = chain.client()
    start, end = await _first_offered_slot(chain, room.id)
    placed = await api.post(
        "/api/v1/orders",
        json={
            "items": [{"room_id": room.id, "starts_at": start, "ends_at": end, "party_size": 2}],
            "customer": {"name": "Zhao Lei", "phone": "13600001111"},
        },
    )
    assert placed.status_code == 201, placed.text
    ref = placed.json()["bookings"][0]["ref"]
    payment = await api.post(f"/api/v1/orders/{placed.json()['id']}/payments", json={})
    assert payment.status_code == 201, payment.text
    assert chain.payments is not None
    chain.payments.sim.pay(payment.json()["id"])  # the provider calls the cloud back, signed
    booking: dict[str, Any] = await booking_status(chain, ref, "confirmed")
    assert booking["booking_key"], "the confirmed booking's page can draw its code"
    await edge_knows(store, booking)
    edge = store.running_edge()
    assert store.devices is not None
    lock = store.devices.lock(room.lock)
    unlocks_before = lock.unlocks

    cancelled = await api.post(f"/api/v1/bookings/{ref}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    # Close to its start the terms may refund nothing; whatever is due went back through the provider.
    due = cancelled.json()["refund_amount"]
    assert cancelled.json()["status"] == ("refunded" if due else "cancelled")
    assert sum(r.amount for r in chain.payments.sim.refunds.values()) == due

    async def revoked_at_the_edge() -> bool:
        known = await edge.store.booking(ref)
        return known is not None and str(known.status) == "cancelled"

    await eventually(revoked_at_the_edge, what="the cancellation to reach the edge")
    await scan(store, room, booking, time.time())

    async def refusal() -> dict[str, Any] | None:
        events = (await api.get(f"/api/v1/stores/{store.id}/events")).json()
        return next(
            (
                e
                for e in events
                if e["kind"] == "redemption_refused" and e["payload"].get("booking_ref") == ref
            ),
            None,
        )

    refused = await eventually(refusal, what="the refusal of the cancelled booking's code")
    assert refused["payload"]["reason"] == "revoked"
    assert lock.unlocks == unlocks_before, "the door did not open"
