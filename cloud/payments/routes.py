"""HTTP routes of orders and payments: place an order, start a payment, the provider's callback."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cloud.booking.schemas import BookingOut
from cloud.deps import ApiPrincipal, CipherDep, ClockDep, SessionDep, UowDep
from cloud.orders import services as order_services
from cloud.orders.model import OrderItem
from cloud.payments import services
from cloud.payments.schemas import OrderCreate, OrderOut, PaymentIn, PaymentOut
from cloud.payments.wiring import ProviderDep, notify_url

router = APIRouter(prefix="/api/v1", tags=["payments"])

PAGE_PREFIX = "/book/o/"


@router.post("/orders", status_code=201)
async def create_order(
    body: OrderCreate, principal: ApiPrincipal, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> OrderOut:
    """Hold every item (one booking each, across stores) or none; 409 names the item that failed."""
    placed = await order_services.place_order(
        uow,
        clock,
        cipher,
        principal,
        items=[OrderItem(i.room_id, i.starts_at, i.ends_at, i.party_size) for i in body.items],
        customer_name=body.customer.name,
        phone=body.customer.phone,
    )
    return OrderOut(
        id=placed.order.id,
        customer_name=placed.order.customer_name,
        deposit_total=sum(b.deposit_due for b in placed.bookings),
        bookings=[BookingOut.of(b) for b in placed.bookings],
        page_token=placed.token,
        page_path=PAGE_PREFIX + placed.token,
    )


@router.get("/orders/{order_id}")
async def get_order(order_id: str, principal: ApiPrincipal, session: SessionDep) -> OrderOut:
    """An order and its current bookings."""
    order = await order_services.get_order(session, principal, order_id)
    bookings = await order_services.order_bookings(session, order.id)
    return OrderOut(
        id=order.id,
        customer_name=order.customer_name,
        deposit_total=sum(b.deposit_due for b in bookings),
        bookings=[BookingOut.of(b) for b in bookings],
    )


@router.post("/orders/{order_id}/payments", status_code=201)
async def start_payment(
    order_id: str,
    body: PaymentIn,
    request: Request,
    principal: ApiPrincipal,
    uow: UowDep,
    clock: ClockDep,
    provider: ProviderDep,
) -> PaymentOut:
    """Start paying the order's deposits (or a booking's balance): the answer gives the pay_url."""
    order = await order_services.get_order(uow.session, principal, order_id)
    return_url = body.return_url or str(request.base_url)
    if body.kind == "balance":
        payment = await services.start_balance(
            uow,
            clock,
            provider,
            order,
            body.booking_ref or "",
            notify_url=notify_url(request),
            return_url=return_url,
        )
    else:
        payment = await services.start_deposit(
            uow, clock, provider, order, notify_url=notify_url(request), return_url=return_url
        )
    return PaymentOut.of(payment)


@router.post("/payments/callbacks/sim")
async def sim_callback(
    request: Request, uow: UowDep, clock: ClockDep, cipher: CipherDep, provider: ProviderDep
) -> dict[str, str]:
    """The simulated provider's signed callback (400 bad_signature / stale / amount_mismatch)."""
    body = await request.body()
    await services.handle_callback(uow, clock, cipher, provider, dict(request.headers), body)
    return {"code": "SUCCESS"}
