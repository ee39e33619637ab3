"""Payment use cases: start a deposit or balance payment, take the provider's callback, refund.

A callback is verified (signature, freshness, amount) before anything changes, then applied
idempotently: it may arrive late, twice or out of order. Applying a deposit payment confirms every
booking of its order; a booking whose hold lapsed is held again if its time is still free, else its
share is refunded (as is the share of a booking already confirmed by another payment).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from cloud.auth.model import Principal
from cloud.booking import lifecycle
from cloud.booking import services as booking_services
from cloud.booking.model import AlreadyConfirmed, BookingStatus, HoldExpired, InvalidTransition
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.errors import Conflict, DomainError, NotFound
from cloud.ids import new_id
from cloud.orders import services as order_services
from cloud.orders.tables import Order, OrderBooking
from cloud.payments import model
from cloud.payments.model import CallbackRejected, NothingToPay, PaymentKind, PaymentStatus, RefundReason
from cloud.payments.provider import PaymentProvider, ProviderError
from cloud.payments.tables import Payment, PaymentRefund
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)

ACTOR = "system:payments"
S = BookingStatus


@dataclass(frozen=True, slots=True)
class _Paid:
    """What settling needs of a payment (plain values: rows expire on every rollback)."""

    id: str
    tenant_id: str
    order_id: str


@dataclass(frozen=True, slots=True)
class _Link:
    """What settling needs of an order's booking link."""

    ref: str
    order_id: str
    store_id: str
    position: int


async def _create(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    payment: Payment,
    *,
    description: str,
    notify_url: str,
    return_url: str,
) -> Payment:
    uow.session.add(payment)
    await uow.commit()
    created = await provider.create_payment(
        payment_id=payment.id,
        amount=payment.amount,
        description=description,
        notify_url=notify_url,
        return_url=return_url,
    )
    payment.pay_url = created.pay_url
    await uow.commit()
    return payment


async def start_deposit(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    order: Order,
    *,
    notify_url: str,
    return_url: str,
) -> Payment:
    """One payment of the deposits of every held booking of the order (reused while unpaid)."""
    session = uow.session
    now = clock.now()
    bookings = await order_services.order_bookings(session, order.id)
    held = [b for b in bookings if b.status == S.HELD.value and (b.hold_expires_at or now) > now]
    if not held:
        raise NothingToPay("the order holds nothing to pay for", field="order_id")
    amount = sum(b.deposit_due for b in held)
    pending = await session.scalar(
        select(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.kind == PaymentKind.DEPOSIT.value,
            Payment.status == PaymentStatus.CREATED.value,
            Payment.amount == amount,
        )
        .order_by(Payment.created_at.desc())
    )
    if pending is not None and pending.pay_url:
        await uow.commit()
        return pending
    payment = Payment(
        id=new_id("pay", 12),
        tenant_id=order.tenant_id,
        order_id=order.id,
        booking_ref=None,
        kind=PaymentKind.DEPOSIT.value,
        amount=amount,
        status=PaymentStatus.CREATED.value,
        created_at=now,
    )
    description = f"Deposit of order {order.id} ({len(held)} booking(s))"
    return await _create(
        uow, clock, provider, payment, description=description, notify_url=notify_url, return_url=return_url
    )


async def start_balance(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    order: Order,
    booking_ref: str,
    *,
    notify_url: str,
    return_url: str,
) -> Payment:
    """A payment of the rest of a confirmed booking's price."""
    session = uow.session
    link = await session.get(OrderBooking, booking_ref)
    booking = await session.get(Booking, booking_ref)
    if link is None or booking is None or link.order_id != order.id:
        raise NotFound(
            f"no booking {booking_ref} in the order", code="booking_not_found", field="booking_ref"
        )
    if booking.status != S.CONFIRMED.value:
        raise Conflict("only a confirmed booking has a balance to pay", code="booking_not_active")
    due = booking.price_total - booking.amount_paid
    if due <= 0:
        raise NothingToPay("the booking is paid in full", field="booking_ref")
    payment = Payment(
        id=new_id("pay", 12),
        tenant_id=order.tenant_id,
        order_id=order.id,
        booking_ref=booking.ref,
        kind=PaymentKind.BALANCE.value,
        amount=due,
        status=PaymentStatus.CREATED.value,
        created_at=clock.now(),
    )
    description = f"Balance of booking {booking.order_no}"
    return await _create(
        uow, clock, provider, payment, description=description, notify_url=notify_url, return_url=return_url
    )


async def handle_callback(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    provider: PaymentProvider,
    headers: Mapping[str, str],
    body: bytes,
) -> Payment:
    """Verify and apply a provider callback; a rejected one (logged) changes nothing; repeats are no-ops."""
    session = uow.session
    try:
        callback = provider.verify_callback(headers, body, clock.now())
    except CallbackRejected as err:
        logger.warning("payment callback rejected", extra={"code": err.code, "detail": err.detail})
        raise
    payment = await session.scalar(select(Payment).where(Payment.id == callback.payment_id).with_for_update())
    if payment is None:
        logger.warning("payment callback for an unknown payment", extra={"payment_id": callback.payment_id})
        raise NotFound(f"no payment {callback.payment_id}", code="payment_not_found", field="payment_id")
    try:
        model.check_amount(payment.amount, callback)
    except CallbackRejected as err:
        logger.warning(
            "payment callback rejected",
            extra={"code": err.code, "payment_id": payment.id, **err.extra},
        )
        await uow.rollback()
        raise
    if callback.status != "paid":
        await uow.commit()
        return payment
    status = PaymentStatus(payment.status)
    if model.can_transition(status, PaymentStatus.PAID):
        payment.status = PaymentStatus.PAID.value
        payment.provider_txn = callback.txn_id
        payment.paid_at = clock.now()
        if payment.kind == PaymentKind.BALANCE.value and payment.booking_ref is not None:
            await _apply_balance(uow, clock, payment)
        await uow.commit()
        logger.info("payment paid", extra={"payment_id": payment.id, "amount": payment.amount})
    else:
        await uow.commit()
    if payment.kind == PaymentKind.DEPOSIT.value:
        await settle_deposit(uow, clock, cipher, provider, payment)
    return payment


async def _apply_balance(uow: UnitOfWork, clock: Clock, payment: Payment) -> None:
    booking = await uow.session.scalar(
        select(Booking).where(Booking.ref == payment.booking_ref).with_for_update()
    )
    if booking is None:
        return
    before = lifecycle.booking_view(booking)
    booking.amount_paid += payment.amount
    booking.updated_at = clock.now()
    lifecycle.audit(
        uow.session,
        booking,
        at=clock.now(),
        actor=ACTOR,
        action="booking.balance_paid",
        before=before,
        extra={"payment_ref": payment.id},
    )


def _refund_id(payment_id: str, booking_ref: str, why: str) -> str:
    return f"{payment_id}:{booking_ref}:{why}"


async def settle_deposit(
    uow: UnitOfWork, clock: Clock, cipher: FieldCipher, provider: PaymentProvider, payment: Payment
) -> None:
    """Confirm every booking of a paid deposit payment (idempotent: safe to run again)."""
    session = uow.session
    paid = _Paid(payment.id, payment.tenant_id, payment.order_id)
    links = [
        _Link(row.booking_ref, row.order_id, row.store_id, row.position)
        for row in await session.scalars(
            select(OrderBooking)
            .where(OrderBooking.order_id == paid.order_id, OrderBooking.active.is_(True))
            .order_by(OrderBooking.position)
        )
    ]
    refunded = set(
        await session.scalars(select(PaymentRefund.booking_ref).where(PaymentRefund.payment_id == paid.id))
    )
    await uow.commit()
    for link in links:
        if link.ref in refunded:
            continue
        await _settle_one(uow, clock, cipher, provider, paid, link)


async def _settle_one(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    provider: PaymentProvider,
    payment: _Paid,
    link: _Link,
) -> None:
    ref = link.ref
    try:
        await booking_services.confirm_payment(
            uow, clock, ref=ref, payment_ref=payment.id, tenant_id=payment.tenant_id, actor=ACTOR
        )
        return
    except HoldExpired:
        await uow.rollback()
        await _rehold(uow, clock, cipher, provider, payment, link)
    except AlreadyConfirmed:
        await uow.rollback()
        await _refund_share(uow, clock, provider, payment, ref, RefundReason.DUPLICATE)
    except InvalidTransition:
        await uow.rollback()
        await _refund_share(uow, clock, provider, payment, ref, RefundReason.NOT_PAYABLE)


async def _rehold(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    provider: PaymentProvider,
    payment: _Paid,
    link: _Link,
) -> None:
    """The payment came after the hold lapsed: hold the same time again if free, else refund the share."""
    session = uow.session
    old = await session.get(Booking, link.ref, populate_existing=True)
    assert old is not None
    principal = Principal(tenant_id=payment.tenant_id, actor=ACTOR)
    try:
        new = await booking_services.hold(
            uow,
            clock,
            cipher,
            principal,
            room_id=old.room_id,
            starts_at=old.starts_at,
            ends_at=old.ends_at,
            party_size=old.party_size or 1,
            customer_name=old.customer_name,
            phone=booking_services.decrypt_phone(cipher, old),
            source=old.source,
        )
    except DomainError as err:
        await uow.rollback()
        logger.info(
            "late payment: the slot is gone, refunding",
            extra={"payment_id": payment.id, "ref": link.ref, "code": err.code},
        )
        await _refund_share(uow, clock, provider, payment, link.ref, RefundReason.SLOT_LOST)
        return
    new_ref, position, order_id, store_id = new.ref, link.position, link.order_id, link.store_id
    old_ref = link.ref
    fresh = await session.get(OrderBooking, old_ref, populate_existing=True)
    assert fresh is not None
    fresh.active = False
    fresh.replaced_by = new_ref
    session.add(OrderBooking(booking_ref=new_ref, order_id=order_id, store_id=store_id, position=position))
    await uow.commit()
    logger.info(
        "late payment: slot held again", extra={"payment_id": payment.id, "old": old_ref, "new": new_ref}
    )
    await booking_services.confirm_payment(
        uow, clock, ref=new_ref, payment_ref=payment.id, tenant_id=payment.tenant_id, actor=ACTOR
    )


async def _refund_share(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    payment: _Paid,
    ref: str,
    reason: RefundReason,
) -> None:
    booking = await uow.session.get(Booking, ref, populate_existing=True)
    assert booking is not None
    await _refund(uow, clock, provider, payment, ref, booking.deposit_due, reason)


async def _refund(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    payment: _Paid,
    ref: str,
    amount: int,
    reason: RefundReason,
) -> PaymentRefund:
    """Record a refund (idempotent by its id), then ask the provider; it stays pending if that fails."""
    session = uow.session
    refund_id = _refund_id(payment.id, ref, reason.value)
    refund = await session.get(PaymentRefund, refund_id)
    if refund is None:
        refund = PaymentRefund(
            id=refund_id,
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            booking_ref=ref,
            amount=amount,
            reason=reason.value,
            status="pending",
            created_at=clock.now(),
        )
        session.add(refund)
        await uow.commit()
    if refund.status == "done" or amount <= 0:
        return refund
    try:
        await provider.refund(payment_id=payment.id, refund_id=refund.id, amount=refund.amount)
    except ProviderError:
        logger.exception("refund failed at the provider; it stays pending", extra={"refund_id": refund.id})
        return refund
    refund.status = "done"
    refund.done_at = clock.now()
    await uow.commit()
    logger.info(
        "refund paid", extra={"refund_id": refund.id, "amount": refund.amount, "reason": reason.value}
    )
    return refund


async def refunds_of(uow: UnitOfWork, ref: str) -> list[PaymentRefund]:
    """The refunds recorded for a booking."""
    return list(await uow.session.scalars(select(PaymentRefund).where(PaymentRefund.booking_ref == ref)))


async def cancel_and_refund(
    uow: UnitOfWork, clock: Clock, provider: PaymentProvider | None, principal: Principal, ref: str
) -> Booking:
    """Cancel a booking by its terms and pay the refund due back through the provider (recorded)."""
    booking = await booking_services.cancel_booking(uow, clock, principal, ref)
    due = booking.refund_amount or 0
    if due <= 0 or provider is None:
        return booking
    session = uow.session
    payments = list(
        await session.scalars(
            select(Payment).where(
                Payment.status == PaymentStatus.PAID.value,
                (Payment.id == booking.payment_ref) | (Payment.booking_ref == ref),
            )
        )
    )
    if not payments:
        return booking  # paid outside the provider (at the desk): the desk pays it back
    balances = sum(p.amount for p in payments if p.kind == PaymentKind.BALANCE.value)
    already = await session.scalar(
        select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(PaymentRefund.booking_ref == ref)
    )
    capacities: list[tuple[str, int]] = []
    for p in sorted(payments, key=lambda p: p.kind != PaymentKind.DEPOSIT.value):
        share = booking.amount_paid - balances if p.kind == PaymentKind.DEPOSIT.value else p.amount
        capacities.append((p.id, share))
    by_id = {p.id: _Paid(p.id, p.tenant_id, p.order_id) for p in payments}
    await uow.commit()
    parts = model.refund_split(due, capacities) if not already else []
    for payment_id, amount in parts:
        await _refund(uow, clock, provider, by_id[payment_id], ref, amount, RefundReason.CANCELLED)
    pending = await session.scalar(
        select(func.count())
        .select_from(PaymentRefund)
        .where(PaymentRefund.booking_ref == ref, PaymentRefund.status != "done")
    )
    await uow.commit()
    if not pending:
        booking = await booking_services.record_refund(
            uow,
            clock,
            ref=ref,
            refund_ref=f"cancel:{ref}",
            tenant_id=principal.tenant_id,
            actor=principal.actor,
        )
    return booking
