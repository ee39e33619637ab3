"""Cross-store orders: one order, one booking per item across stores, held all-or-nothing, paid once."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from cloud.payments.tables import PaymentRefund
from tests.integration.cloud.payments_support import PayWorld, pay_world

__all__ = ["pay_world"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _items(world: PayWorld, *specs: tuple[str, tuple[str, str]]) -> list[dict[str, object]]:
    return [{"room_id": r, "starts_at": s[0], "ends_at": s[1], "party_size": 2} for r, s in specs]


async def test_an_order_across_two_stores_is_held_paid_once_and_refunded_per_booking(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    world.sim.auto_callback = False
    items = _items(world, (world.rooms_a[0], world.slot(3, 10)), (world.rooms_b[0], world.slot(4, 14)))
    response = await world.api.post(
        "/api/v1/orders", json={"items": items, "customer": {"name": "Han Meimei", "phone": "13900005678"}}
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert len({b["store_id"] for b in order["bookings"]}) == 2
    assert [b["status"] for b in order["bookings"]] == ["held", "held"]
    payment = (await world.api.post(f"/api/v1/orders/{order['id']}/payments", json={})).json()
    assert payment["amount"] == order["deposit_total"] == 2 * 3600
    world.sim.pay(payment["id"])
    assert (await world.sim.send_callback(payment["id"])).status_code == 200
    bookings = (await world.api.get(f"/api/v1/orders/{order['id']}")).json()["bookings"]
    assert [(b["status"], b["payment_ref"]) for b in bookings] == [("confirmed", payment["id"])] * 2
    # Redeemed and refunded per booking: cancelling one (days ahead: full refund) leaves the other.
    page = order["page_path"]
    async with httpx.AsyncClient(base_url=world.cloud.http_url) as customer:
        cancel = await customer.post(f"{page}/b/{bookings[0]['ref']}/cancel")
        assert cancel.status_code == 303
    after = {b["ref"]: b for b in (await world.api.get(f"/api/v1/orders/{order['id']}")).json()["bookings"]}
    assert after[bookings[0]["ref"]]["status"] == "refunded"
    assert after[bookings[1]["ref"]]["status"] == "confirmed"
    async with world.cloud.sessionmaker() as session:
        refunds = list(await session.scalars(select(PaymentRefund)))
    assert [(r.booking_ref, r.amount, r.reason, r.status) for r in refunds] == [
        (bookings[0]["ref"], 3600, "cancelled", "done")
    ]


async def test_an_order_whose_second_item_is_taken_holds_nothing(pay_world: PayWorld) -> None:
    world = pay_world
    taken = world.slot(3, 18)
    first = _items(world, (world.rooms_b[1], taken))
    assert (
        await world.api.post(
            "/api/v1/orders", json={"items": first, "customer": {"name": "A", "phone": "13900001111"}}
        )
    ).status_code == 201
    items = _items(world, (world.rooms_a[1], world.slot(3, 10)), (world.rooms_b[1], taken))
    response = await world.api.post(
        "/api/v1/orders", json={"items": items, "customer": {"name": "B", "phone": "13900002222"}}
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "slot_taken" and response.json()["item"] == 1
    # The first item's hold was released: the same time can be held again at once.
    again = _items(world, (world.rooms_a[1], world.slot(3, 10)))
    retry = await world.api.post(
        "/api/v1/orders", json={"items": again, "customer": {"name": "C", "phone": "13900003333"}}
    )
    assert retry.status_code == 201, retry.text


async def test_rescheduling_from_the_booking_page_prices_the_new_slot_like_the_api(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    world.sim.auto_callback = False
    room = world.rooms_a[0]
    plan = {
        "weekday": [
            {"from": "00:00", "to": "18:00", "per_hour": 6000},
            {"from": "18:00", "to": "24:00", "per_hour": 9000},
        ],
        "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 9000}],
    }
    assert (await world.api.patch(f"/api/v1/rooms/{room}", json={"price_plan": plan})).status_code == 200
    day = (world.clock.now() + timedelta(days=3)).astimezone(SHANGHAI).date()
    start = datetime.combine(day, time(10), tzinfo=SHANGHAI)
    item = {
        "room_id": room,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    made = await world.api.post(
        "/api/v1/orders",
        json={"items": [{**item, "party_size": 2}], "customer": {"name": "Han", "phone": "13900005678"}},
    )
    assert made.status_code == 201, made.text
    order = made.json()
    ref = order["bookings"][0]["ref"]
    payment = (await world.api.post(f"/api/v1/orders/{order['id']}/payments", json={})).json()
    world.sim.pay(payment["id"])
    await world.sim.send_callback(payment["id"])
    page = order["page_path"]
    async with httpx.AsyncClient(base_url=world.cloud.http_url) as customer:
        dearer = await customer.post(
            f"{page}/b/{ref}/reschedule", data={"day": day.isoformat(), "start": "19:00"}
        )
    # 19:00-21:00 costs 18000 instead of 12000: the page sends the customer to pay the 6000 more.
    assert dearer.status_code == 303
    assert dearer.headers["location"].startswith("http://127.0.0.1:")
    charged = world.sim.payments[dearer.headers["location"].rsplit("/", 1)[1]]
    assert charged.amount == 6000
    booking = (await world.api.get(f"/api/v1/bookings/{ref}")).json()
    assert (booking["price_total"], booking["amount_paid"]) == (18000, 3600)
    async with httpx.AsyncClient(base_url=world.cloud.http_url) as customer:
        cheaper = await customer.post(
            f"{page}/b/{ref}/reschedule", data={"day": day.isoformat(), "start": "08:00"}
        )
    assert cheaper.status_code == 303 and cheaper.headers["location"] == page
    booking = (await world.api.get(f"/api/v1/bookings/{ref}")).json()
    # 12000 now, deposit 3600 kept: nothing to give back (the 6000 more was never paid).
    assert (booking["price_total"], booking["amount_paid"]) == (12000, 3600)
    assert world.sim.refunds == {}
