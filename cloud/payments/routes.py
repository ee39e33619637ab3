"""HTTP routes of orders and payments: place an order, start a payment, the provider's callback, refunds.

Who may do what: orders are bookings (bookings.read / bookings.write, each booking in the caller's
reach); refunds are seen with payments.read and tried again with payments.refund, inside the
caller's stores; rejected callbacks are a tenant-level view (payments.audit: HQ and finance).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from cloud.auth.model import Action, Principal
from cloud.booking.schemas import BookingOut
from cloud.deps import BookingsRead, BookingsWrite, CipherDep, ClockDep, SessionDep, UowDep, require
from cloud.orders import services as order_services
from cloud.orders.model import OrderItem
from cloud.payments import callbacks, refunds, services
from cloud.payments.model import RefundStatus
from cloud.payments.schemas import (
    OrderCreate,
    OrderOut,
    PaymentIn,
    PaymentOut,
    RefundOut,
    RejectedCallbackOut,
)
from cloud.payments.tables import Payment
from cloud.payments.wiring import ProviderDep, notify_url

router = APIRouter(prefix="/api/v1", tags=["payments"])

PAGE_PREFIX = "/book/o/"

PaymentsRead = Annotated[Principal, Depends(require(Action.PAYMENTS_READ))]
PaymentsRefund = Annotated[Principal, Depends(require(Action.PAYMENTS_REFUND))]
PaymentsAudit = Annotated[Principal, Depends(require(Action.PAYMENTS_AUDIT))]


@router.post("/orders", status_code=201)
async def create_order(
    body: OrderCreate, principal: BookingsWrite, uow: UowDep, clock: ClockDep, cipher: CipherDep
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
async def get_order(order_id: str, principal: BookingsRead, session: SessionDep) -> OrderOut:
    """An order and its current bookings (those in the caller's reach)."""
    order = await order_services.reached_order(session, principal, order_id)
    bookings = order_services.visible_bookings(
        principal, await order_services.order_bookings(session, order.id)
    )
    return OrderOut(
        id=order.id,
        customer_name=order.customer_name,
        deposit_total=sum(b.deposit_due for b in bookings),
        bookings=[BookingOut.of(b) for b in bookings],
    )


@router.get("/orders/{order_id}/payments")
async def list_payments(order_id: str, principal: PaymentsRead, session: SessionDep) -> list[PaymentOut]:
    """The payments of an order (deposits, balances, reschedule differences), oldest first."""
    order = await order_services.reached_order(session, principal, order_id)
    rows = await session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.created_at, Payment.id)
    )
    return [PaymentOut.of(p) for p in rows]


@router.post("/orders/{order_id}/payments", status_code=201)
async def start_payment(
    order_id: str,
    body: PaymentIn,
    request: Request,
    principal: BookingsWrite,
    uow: UowDep,
    clock: ClockDep,
    provider: ProviderDep,
) -> PaymentOut:
    """Start paying the order's deposits (or a booking's balance): the answer gives the pay_url."""
    order = await order_services.reached_order(uow.session, principal, order_id)
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
    """The simulated provider's signed callback (400 bad_signature / stale / replayed / amount_mismatch)."""
    body = await request.body()
    await services.handle_callback(uow, clock, cipher, provider, dict(request.headers), body)
    return {"code": "SUCCESS"}


@router.get("/payments/refunds")
async def list_refunds(
    principal: PaymentsRead,
    session: SessionDep,
    status: RefundStatus | None = None,
    store_id: str | None = None,
    booking_ref: str | None = None,
) -> list[RefundOut]:
    """Refunds in the caller's stores (e.g. `status=failed`: those waiting for staff), newest first."""
    rows = await refunds.list_refunds(
        session, principal, status=status, store_id=store_id, booking_ref=booking_ref
    )
    return [RefundOut.of(r) for r in rows]


@router.post("/payments/refunds/{refund_id}/retry")
async def retry_refund(
    refund_id: str,
    request: Request,
    principal: PaymentsRefund,
    uow: UowDep,
    clock: ClockDep,
    provider: ProviderDep,
) -> RefundOut:
    """Try a pending or failed refund again now (its attempts start over); a done one is returned as is."""
    refund = await refunds.retry_by_staff(
        uow, clock, provider, principal, refund_id, notify_url=notify_url(request)
    )
    return RefundOut.of(refund)


@router.get("/payments/rejected-callbacks")
async def rejected_callbacks(
    principal: PaymentsAudit, session: SessionDep, reason: str | None = None, limit: int = 200
) -> list[RejectedCallbackOut]:
    """Provider callbacks that were refused (forged, stale, replayed, wrong amount...), newest first."""
    rows = await callbacks.rejected_callbacks(session, principal, reason=reason, limit=limit)
    return [RejectedCallbackOut.of(r) for r in rows]
