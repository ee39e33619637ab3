"""Payments through the simulated provider: signed callbacks that come late, twice, out of order or forged."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import select

from cloud.payments.tables import PaymentRefund, RejectedCallback
from cloud.payments.wiring import CALLBACK_PATH
from simulators.payments import signed_headers
from tests.integration.cloud.conftest import new_tenant, wait_until
from tests.integration.cloud.payments_support import SECRET, PayWorld, pay_world

__all__ = ["pay_world"]


async def _order(world: PayWorld, items: list[dict[str, Any]]) -> dict[str, Any]:
    response = await world.api.post(
        "/api/v1/orders", json={"items": items, "customer": {"name": "Li Lei", "phone": "13800001234"}}
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def _item(room_id: str, slot: tuple[str, str]) -> dict[str, Any]:
    return {"room_id": room_id, "starts_at": slot[0], "ends_at": slot[1], "party_size": 2}


async def _deposit(world: PayWorld, order_id: str) -> dict[str, Any]:
    response = await world.api.post(f"/api/v1/orders/{order_id}/payments", json={"kind": "deposit"})
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def _statuses(world: PayWorld, order_id: str) -> list[str]:
    order = (await world.api.get(f"/api/v1/orders/{order_id}")).json()
    return [b["status"] for b in order["bookings"]]


async def _refunds(world: PayWorld) -> list[PaymentRefund]:
    async with world.cloud.sessionmaker() as session:
        return list(await session.scalars(select(PaymentRefund)))


async def test_paying_on_the_provider_page_confirms_the_order_through_the_signed_callback(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    assert payment["amount"] == order["deposit_total"] == 3600  # 30 % of 2 h at 60.00
    async with __import__("httpx").AsyncClient() as browser:
        page = await browser.get(payment["pay_url"])
        assert "Pay" in page.text
        await browser.post(payment["pay_url"])

    async def confirmed() -> bool:
        return await _statuses(world, order["id"]) == ["confirmed"]

    await wait_until(confirmed, within=5)
    assert world.sim.deliveries[-1].status_code == 200


async def test_a_callback_delivered_twice_confirms_once(pay_world: PayWorld) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    first = await world.sim.send_callback(payment["id"])
    second = await world.sim.send_callback(payment["id"])
    assert (first.status_code, second.status_code) == (200, 200)
    booking = (await world.api.get(f"/api/v1/orders/{order['id']}")).json()["bookings"][0]
    assert booking["status"] == "confirmed" and booking["amount_paid"] == 3600
    assert await _refunds(world) == []


async def test_forged_stale_or_wrong_amount_callbacks_are_rejected_and_change_nothing(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    forged = await world.sim.send_callback(payment["id"], secret=b"not-the-secret")
    stale = await world.sim.send_callback(payment["id"], timestamp=int(world.clock.now().timestamp()) - 3600)
    wrong = await world.sim.send_callback(payment["id"], amount=1)
    assert [r.status_code for r in (forged, stale, wrong)] == [400, 400, 400]
    assert [r.json()["code"] for r in (forged, stale, wrong)] == ["bad_signature", "stale", "amount_mismatch"]
    assert await _statuses(world, order["id"]) == ["held"]
    good = await world.sim.send_callback(payment["id"])
    assert good.status_code == 200
    assert await _statuses(world, order["id"]) == ["confirmed"]


async def test_two_payments_of_one_order_arriving_out_of_order_confirm_once_and_refund_the_other(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    first = await _deposit(world, order["id"])
    world.sim.pay(first["id"])  # paid, but its callback is held back
    # The customer, seeing nothing, pays again under a new payment (a different amount would not reuse it).
    async with world.cloud.sessionmaker() as session:
        from cloud.payments.tables import Payment

        row = await session.get(Payment, first["id"])
        assert row is not None
        row.status = "paid"  # as the cloud would see a paid-but-unconfirmed one: no reuse
        await session.commit()
        row.status = "created"
    second = await _deposit(world, order["id"])
    assert second["id"] != first["id"]
    async with world.cloud.sessionmaker() as session:
        row = await session.get(Payment, first["id"])
        assert row is not None
        row.status = "created"
        await session.commit()
    world.sim.pay(second["id"])
    assert (await world.sim.send_callback(second["id"])).status_code == 200
    assert (await world.sim.send_callback(first["id"])).status_code == 200  # the older one, late
    assert await _statuses(world, order["id"]) == ["confirmed"]
    refunds = await _refunds(world)
    assert [(r.payment_id, r.reason, r.amount, r.status) for r in refunds] == [
        (first["id"], "duplicate", 3600, "done")
    ]
    assert [r.payment_id for r in world.sim.refunds.values()] == [first["id"]]


async def test_a_payment_after_the_hold_expired_holds_the_slot_again_when_free(pay_world: PayWorld) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    world.clock.advance(20 * 60)  # past the 15-minute hold
    assert (await world.sim.send_callback(payment["id"])).status_code == 200
    current = (await world.api.get(f"/api/v1/orders/{order['id']}")).json()["bookings"]
    assert [b["status"] for b in current] == ["confirmed"]
    assert current[0]["ref"] != order["bookings"][0]["ref"]  # a new hold, confirmed by the payment
    assert current[0]["payment_ref"] == payment["id"]
    assert await _refunds(world) == []
    # Delivered again: nothing more happens.
    assert (await world.sim.send_callback(payment["id"])).status_code == 200
    assert await _statuses(world, order["id"]) == ["confirmed"]


async def test_a_payment_after_the_hold_expired_is_refunded_when_the_slot_was_taken(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    world.sim.auto_callback = False
    slot = world.slot(2, 10)
    order = await _order(world, [_item(world.rooms_a[0], slot)])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    world.clock.advance(20 * 60)
    await _order(world, [_item(world.rooms_a[0], slot)])  # someone else holds the freed time
    assert (await world.sim.send_callback(payment["id"])).status_code == 200
    assert await _statuses(world, order["id"]) == ["expired"]
    refunds = await _refunds(world)
    assert [(r.reason, r.amount, r.status) for r in refunds] == [("slot_lost", 3600, "done")]
    assert (await world.sim.send_callback(payment["id"])).status_code == 200
    assert len(await _refunds(world)) == 1 and len(world.sim.refunds) == 1


async def test_a_balance_payment_tops_up_a_confirmed_booking(pay_world: PayWorld) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    deposit = await _deposit(world, order["id"])
    world.sim.pay(deposit["id"])
    await world.sim.send_callback(deposit["id"])
    ref = order["bookings"][0]["ref"]
    response = await world.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"kind": "balance", "booking_ref": ref}
    )
    assert response.status_code == 201, response.text
    balance = response.json()
    assert balance["amount"] == 12000 - 3600
    world.sim.pay(balance["id"])
    assert (await world.sim.send_callback(balance["id"])).status_code == 200
    assert (await world.sim.send_callback(balance["id"])).status_code == 200
    booking = (await world.api.get(f"/api/v1/bookings/{ref}")).json()
    assert booking["amount_paid"] == 12000
    again = await world.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"kind": "balance", "booking_ref": ref}
    )
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_pay"


async def test_a_replayed_callback_is_refused_and_every_rejected_callback_is_filed_for_hq(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    forged = await world.sim.send_callback(payment["id"], secret=b"not-the-secret")
    stale = await world.sim.send_callback(payment["id"], timestamp=int(world.clock.now().timestamp()) - 3600)
    wrong = await world.sim.send_callback(payment["id"], amount=1)
    good = await world.sim.send_callback(payment["id"])
    assert good.status_code == 200
    genuine = world.sim.deliveries[-1]
    redelivered = await world.sim.send_callback(payment["id"])  # the same notice, a fresh nonce
    assert redelivered.status_code == 200
    replayed = await world.sim.replay(genuine)  # the very same request, nonce and all
    assert replayed.status_code == 400 and replayed.json()["code"] == "replayed"
    reused = await world.sim.send_callback(payment["id"], nonce=genuine.sent_headers["x-sim-nonce"])
    assert reused.status_code == 400 and reused.json()["code"] == "replayed"
    assert [r.status_code for r in (forged, stale, wrong)] == [400, 400, 400]
    booking = (await world.api.get(f"/api/v1/orders/{order['id']}")).json()["bookings"][0]
    assert booking["status"] == "confirmed" and booking["amount_paid"] == 3600
    assert await _refunds(world) == []
    filed = await world.api.get("/api/v1/payments/rejected-callbacks")
    assert filed.status_code == 200, filed.text
    rows = filed.json()
    assert sorted(r["reason"] for r in rows) == sorted(
        ["bad_signature", "stale", "amount_mismatch", "replayed", "replayed"]
    )
    assert {r["payment_id"] for r in rows} == {payment["id"]}
    one = rows[0]
    assert one["body"].startswith("{") and "x-sim-nonce" in one["headers"] and one["received_at"]
    mismatch = next(r for r in rows if r["reason"] == "amount_mismatch")
    assert '"amount":1' in mismatch["body"]


def rejected_count(reason: str, tenant: str) -> float:
    """This process's count of rejected callbacks of one reason, attributed to a tenant or not."""
    value = REGISTRY.get_sample_value(
        "gatehouse_payment_callbacks_rejected_total", {"reason": reason, "tenant": tenant}
    )
    return value or 0.0


async def test_a_rejected_callback_naming_none_of_our_payments_shows_in_the_operators_metrics(
    pay_world: PayWorld,
) -> None:
    world = pay_world
    forged_before = rejected_count("bad_signature", "known")
    unknown_before = rejected_count("bad_signature", "unknown")
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    await world.sim.send_callback(payment["id"], secret=b"forged")
    async with httpx.AsyncClient(base_url=world.cloud.http_url) as stranger:
        answer = await stranger.post(CALLBACK_PATH, content=b'{"payment_id": "pay_nobody"}')
        exported = (await stranger.get("/metrics")).text
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_signature")
    assert rejected_count("bad_signature", "known") == forged_before + 1
    assert rejected_count("bad_signature", "unknown") == unknown_before + 1
    assert 'gatehouse_payment_callbacks_rejected_total{reason="bad_signature",tenant="unknown"}' in exported
    # No HQ sees the stranger's callback; the tenant whose payment was named sees theirs.
    assert len((await world.api.get("/api/v1/payments/rejected-callbacks")).json()) == 1


async def test_another_tenant_does_not_see_our_rejected_callbacks(pay_world: PayWorld) -> None:
    world = pay_world
    world.sim.auto_callback = False
    order = await _order(world, [_item(world.rooms_a[0], world.slot(2, 10))])
    payment = await _deposit(world, order["id"])
    world.sim.pay(payment["id"])
    await world.sim.send_callback(payment["id"], secret=b"forged")
    other = await new_tenant(world.cloud, "Other Chain")
    async with other.api:
        assert (await other.api.get("/api/v1/payments/rejected-callbacks")).json() == []
    assert len((await world.api.get("/api/v1/payments/rejected-callbacks")).json()) == 1


async def test_the_provider_callback_with_a_garbled_body_is_refused_and_filed(pay_world: PayWorld) -> None:
    world = pay_world
    body = b"not json at all" * 400
    headers = signed_headers(SECRET, body, timestamp=int(world.clock.now().timestamp()))
    async with httpx.AsyncClient(base_url=world.cloud.http_url) as client:
        response = await client.post("/api/v1/payments/callbacks/sim", content=body, headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "malformed_callback"
    async with world.cloud.sessionmaker() as session:
        [row] = list(await session.scalars(select(RejectedCallback)))
    assert row.reason == "malformed_callback" and row.tenant_id is None
    assert len(row.body) == 2000, "the body is kept, truncated"
