"""Refunds through the provider: one cancel path, retried with backoff, failed for staff, confirmed late."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from cloud.audit.tables import AuditEntry
from cloud.payments import model
from cloud.payments.provider_sim import SimProvider
from cloud.payments.sweeper import claim_due, sweep_refunds
from cloud.payments.tables import PaymentRefund
from tests.integration.cloud.payments_support import SECRET, PayWorld, pay_world
from tests.support.waiting import eventually

__all__ = ["pay_world"]


async def _paid_order(world: PayWorld, *slots: tuple[str, tuple[str, str]]) -> dict[str, Any]:
    """An order of the given (room, slot) items, its deposit paid through the provider's callback."""
    world.sim.auto_callback = False
    items = [{"room_id": r, "starts_at": s[0], "ends_at": s[1], "party_size": 2} for r, s in slots]
    made = await world.api.post(
        "/api/v1/orders", json={"items": items, "customer": {"name": "Li Lei", "phone": "13800001234"}}
    )
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    payment = (await world.api.post(f"/api/v1/orders/{order['id']}/payments", json={})).json()
    world.sim.pay(payment["id"])
    assert (await world.sim.send_callback(payment["id"])).status_code == 200
    order["payment_id"] = payment["id"]
    return order


async def _refunds(world: PayWorld, **params: str) -> list[dict[str, Any]]:
    response = await world.api.get("/api/v1/payments/refunds", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def _booking(world: PayWorld, ref: str) -> dict[str, Any]:
    booking: dict[str, Any] = (await world.api.get(f"/api/v1/bookings/{ref}")).json()
    return booking


def _short_timeout(world: PayWorld) -> None:
    """The cloud gives up on the provider after half a second (the simulator can hang)."""
    app = world.cloud.app
    assert app is not None
    app.state.payments.provider = SimProvider(
        app.state.payments.provider.base_url, SECRET, world.clock, timeout_s=0.5
    )


async def _sweep(world: PayWorld) -> None:
    """One sweep on the test's clock (the cloud's own sweeper is stopped: the test says when)."""
    await world.cloud.stop_refund_sweeper()
    app = world.cloud.app
    assert app is not None
    await sweep_refunds(
        world.cloud.sessionmaker, world.clock, app.state.payments.provider, jitter=lambda: 0.0
    )


async def test_cancelling_a_paid_booking_by_api_refunds_it_through_the_provider_once(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    cancelled = await world.api.post(f"/api/v1/bookings/{ref}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "refunded" and body["refund_amount"] == 3600
    [refund] = await _refunds(world, booking_ref=ref)
    assert (refund["status"], refund["amount"], refund["reason"], refund["attempts"]) == (
        "done",
        3600,
        "cancelled",
        1,
    )
    assert list(world.sim.refunds) == [refund["id"]]
    assert world.sim.refunds[refund["id"]].amount == 3600
    again = await world.api.post(f"/api/v1/bookings/{ref}/cancel")
    assert again.status_code == 409
    assert len(world.sim.refunds) == 1 and world.sim.refund_requests == 1


async def test_a_refused_refund_stays_pending_with_backoff_and_the_sweeper_pays_it_later(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    world.sim.refund_faults = ["refuse"]
    body = (await world.api.post(f"/api/v1/bookings/{ref}/cancel")).json()
    assert body["status"] == "cancelled", "not refunded until the provider pays"
    [refund] = await _refunds(world, booking_ref=ref)
    assert (refund["status"], refund["attempts"]) == ("pending", 1)
    assert "503" in refund["last_error"]
    first_delay = model.retry_delay(1, 0.0)
    async with world.cloud.sessionmaker() as session:
        row = await session.get(PaymentRefund, refund["id"])
        assert row is not None and row.next_try_at is not None
        assert row.next_try_at >= world.clock.now() + timedelta(seconds=first_delay)
    await _sweep(world)  # not due yet: nothing is tried
    assert world.sim.refund_requests == 1
    world.clock.advance(model.retry_delay(1, 1.0) + 1)
    await _sweep(world)
    assert world.sim.refund_requests == 2
    [refund] = await _refunds(world, booking_ref=ref)
    assert (refund["status"], refund["attempts"]) == ("done", 2)
    assert (await _booking(world, ref))["status"] == "refunded"


async def test_a_timed_out_refund_is_retried_with_the_same_id_and_paid_once(pay_world: PayWorld) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    _short_timeout(world)
    world.sim.refund_faults = ["timeout"]  # the provider takes the refund but its answer never comes
    body = (await world.api.post(f"/api/v1/bookings/{ref}/cancel")).json()
    assert body["status"] == "cancelled"
    [refund] = await _refunds(world, booking_ref=ref)
    assert refund["status"] == "pending" and refund["attempts"] == 1
    world.clock.advance(model.REFUND_RETRY_CAP_S)
    await _sweep(world)
    [refund] = await _refunds(world, booking_ref=ref)
    assert refund["status"] == "done"
    assert list(world.sim.refunds) == [refund["id"]], "one refund at the provider, however many tries"
    assert (await _booking(world, ref))["status"] == "refunded"


async def test_after_the_last_try_a_refund_is_failed_audited_listed_and_staff_can_retry_it(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    world.sim.refund_faults = ["refuse"] * model.MAX_REFUND_ATTEMPTS
    await world.api.post(f"/api/v1/bookings/{ref}/cancel")
    for _ in range(model.MAX_REFUND_ATTEMPTS - 1):
        world.clock.advance(model.REFUND_RETRY_CAP_S + 1)
        await _sweep(world)
    assert world.sim.refund_requests == model.MAX_REFUND_ATTEMPTS
    [failed] = await _refunds(world, status="failed")
    assert failed["booking_ref"] == ref and failed["attempts"] == model.MAX_REFUND_ATTEMPTS
    world.clock.advance(model.REFUND_RETRY_CAP_S + 1)
    await _sweep(world)
    assert world.sim.refund_requests == model.MAX_REFUND_ATTEMPTS, "a failed refund waits for staff"
    async with world.cloud.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.entity == "payment_refund", AuditEntry.entity_id == failed["id"]
                )
            )
        )
    assert actions.count("payment_refund.retry_scheduled") == model.MAX_REFUND_ATTEMPTS - 1
    assert "payment_refund.failed" in actions
    retried = await world.api.post(f"/api/v1/payments/refunds/{failed['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "done"
    assert (await _booking(world, ref))["status"] == "refunded"
    assert await _refunds(world, status="failed") == []


async def test_a_refund_the_provider_confirms_by_callback_refunds_the_booking_then(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    world.sim.refund_async = True  # the answer is "processing"; the outcome comes as a signed callback
    body = (await world.api.post(f"/api/v1/bookings/{ref}/cancel")).json()
    assert body["status"] == "cancelled"
    [refund] = await _refunds(world, booking_ref=ref)
    assert refund["status"] == "pending"
    first = await world.sim.send_refund_callback(refund["id"])
    assert first.status_code == 200, first.text
    again = await world.sim.send_refund_callback(refund["id"])  # redelivered: a fresh nonce, no new effect
    assert again.status_code == 200
    [refund] = await _refunds(world, booking_ref=ref)
    assert refund["status"] == "done"
    assert (await _booking(world, ref))["status"] == "refunded"


async def test_cancelling_one_booking_of_a_cross_store_order_by_api_refunds_only_its_share(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(
        world, (world.rooms_a[0], world.slot(3, 10)), (world.rooms_b[0], world.slot(4, 14))
    )
    first, second = (b["ref"] for b in order["bookings"])
    assert (await world.api.post(f"/api/v1/bookings/{second}/cancel")).json()["status"] == "refunded"
    assert (await _booking(world, first))["status"] == "confirmed"
    refunds = await _refunds(world)
    assert [(r["booking_ref"], r["payment_id"], r["amount"]) for r in refunds] == [
        (second, order["payment_id"], 3600)
    ]
    assert {r["store_id"] for r in refunds} == {(await _booking(world, second))["store_id"]}


async def test_two_workers_never_claim_the_same_due_refund(pay_world: PayWorld) -> None:
    world = pay_world
    order = await _paid_order(
        world, *((room, world.slot(3, hour)) for room in world.rooms_a for hour in (8, 12, 16))
    )
    world.sim.refund_faults = ["refuse"] * 6
    for booking in order["bookings"]:
        await world.api.post(f"/api/v1/bookings/{booking['ref']}/cancel")
    await world.cloud.stop_refund_sweeper()
    world.clock.advance(model.REFUND_RETRY_CAP_S)
    claims = await asyncio.gather(
        *(claim_due(world.cloud.sessionmaker, world.clock, limit=4) for _ in range(3))
    )
    claimed = [refund_id for batch in claims for refund_id in batch]
    assert len(claimed) == len(set(claimed)) == 6
    assert await claim_due(world.cloud.sessionmaker, world.clock) == [], (
        "claimed refunds wait for their lease"
    )


async def test_a_dearer_reschedule_asks_for_the_difference_and_a_cheaper_one_refunds_it(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    start, _ = world.slot(3, 10, hours=3)
    _, end = world.slot(3, 10, hours=3)
    dearer = await world.api.post(
        f"/api/v1/bookings/{ref}/reschedule", json={"starts_at": start, "ends_at": end}
    )
    assert dearer.status_code == 200, dearer.text
    moved = dearer.json()
    assert moved["price_total"] == 18000 and moved["refunds"] == []
    assert moved["payment"]["amount"] == 6000 and moved["payment"]["kind"] == "balance"
    assert moved["payment"]["pay_url"].endswith("/pay/" + moved["payment"]["id"])
    world.sim.pay(moved["payment"]["id"])
    assert (await world.sim.send_callback(moved["payment"]["id"])).status_code == 200
    assert (await _booking(world, ref))["amount_paid"] == 3600 + 6000
    start, end = world.slot(3, 10, hours=1)
    cheaper = await world.api.post(
        f"/api/v1/bookings/{ref}/reschedule", json={"starts_at": start, "ends_at": end}
    )
    assert cheaper.status_code == 200, cheaper.text
    moved = cheaper.json()
    # 9600 paid for a 6000 slot whose deposit is 1800: 12000 cheaper, 7800 may go back (the
    # deposit payment first, the rest out of the balance payment).
    assert moved["payment"] is None
    assert [(r["amount"], r["reason"], r["status"]) for r in moved["refunds"]] == [
        (3600, "rescheduled", "done"),
        (4200, "rescheduled", "done"),
    ]
    assert moved["amount_paid"] == 1800
    assert sum(r.amount for r in world.sim.refunds.values()) == 7800
    # Cancelled now (days ahead: all of what is still paid comes back), spread over both payments.
    cancelled = (await world.api.post(f"/api/v1/bookings/{ref}/cancel")).json()
    assert cancelled["status"] == "refunded" and cancelled["refund_amount"] == 1800
    assert sum(r.amount for r in world.sim.refunds.values()) == 9600


async def test_the_refund_list_needs_a_valid_status(pay_world: PayWorld) -> None:
    response = await pay_world.api.get("/api/v1/payments/refunds", params={"status": "lost"})
    assert response.status_code == 422


async def test_the_providers_own_refund_callback_refunds_the_booking_in_the_background(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _paid_order(world, (world.rooms_a[0], world.slot(3, 10)))
    ref = order["bookings"][0]["ref"]
    world.sim.auto_callback = True
    world.sim.refund_async = True
    await world.api.post(f"/api/v1/bookings/{ref}/cancel")

    async def refunded() -> bool:
        return (await _booking(world, ref))["status"] == "refunded"

    await eventually(refunded, what="the refund callback to refund the booking")
