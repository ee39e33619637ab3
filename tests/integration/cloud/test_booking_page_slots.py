"""Every slot the booking page offers is one a hold accepts (cleaning gaps, grid, window included)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from tests.integration.cloud.payments_support import PayWorld, pay_world

__all__ = ["pay_world"]

CUSTOMER = {"customer_name": "Li Lei", "phone": "13800001234"}


async def test_every_offered_slot_can_be_held(pay_world: PayWorld) -> None:
    world = pay_world
    room = world.rooms_a[0]
    # Someone holds 13:00-15:00 and another 17:00-18:30: the stretches before them end at their start,
    # and a stay must leave the cleaning gap before them.
    for start_h, hours in ((13, 2), (17, 1.5)):
        start = world.clock.now().replace(hour=0, minute=0) + timedelta(days=2, hours=start_h)
        made = await world.api.post(
            "/api/v1/holds",
            json={
                "room_id": room,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=hours)).isoformat(),
                "party_size": 2,
                **CUSTOMER,
            },
        )
        assert made.status_code == 201, made.text
    day = (world.clock.now() + timedelta(days=2)).astimezone().date()
    async with httpx.AsyncClient(base_url=world.cloud.http_url) as customer:
        page = await customer.get(
            f"/book/rooms/{room}", params={"day": day.isoformat(), "party": 2, "duration": 90}
        )
    assert page.status_code == 200, page.text
    offered = re.findall(r'name="slot" value="([^"]+)"', page.text)
    assert len(offered) > 10
    refused = {}
    for value in offered:
        start, _, end = value.partition("|")
        held = await world.api.post(
            "/api/v1/holds",
            json={"room_id": room, "starts_at": start, "ends_at": end, "party_size": 2, **CUSTOMER},
        )
        if held.status_code != 201:
            refused[value] = held.json()["code"]
            continue
        released = await world.api.post(f"/api/v1/bookings/{held.json()['ref']}/cancel")
        assert released.status_code == 200, released.text
    assert refused == {}
