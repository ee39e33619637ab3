"""Payment use cases: start a deposit or balance payment, take the provider's callback, cancel and
reschedule with the money settled through the provider (refunds in `cloud.payments.refunds`).

A callback is verified (signature, freshness, nonce, amount) before anything changes, then applied
idempotently: it may arrive late, twice or out of order. Applying a deposit payment confirms every
booking of its order; a booking whose hold lapsed is held again if its time is still free, else its
share is refunded (as is the share of a booking already confirmed by another payment).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Principal
from cloud.booking import lifecycle
from cloud.booking import services as booking_services
from cloud.booking.model import AlreadyConfirmed, BookingStatus, HoldExpired, InvalidTransition
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.errors import Conflict, DomainError, Invalid, NotFound
from cloud.ids import new_id
from cloud.orders import services as order_services
from cloud.orders.tables import Order, OrderBooking
from cloud.payments import callbacks, model, refunds
from cloud.payments.model import (
    CallbackRejected,
    NothingToPay,
    PaymentKind,
    PaymentStatus,
    RefundNotice,
    RefundReason,
)
from cloud.payments.provider import PaymentProvider
from cloud.payments.tables import Payment, PaymentRefund
from cloud.pricing.model import share
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
    amount: int | None = None,
) -> Payment:
    """A payment of the rest of a confirmed booking's price (or of `amount` of it)."""
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
    if amount is not None:
        due = min(due, amount)
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
) -> Payment | PaymentRefund:
    """Verify and apply a provider callback; a rejected one is filed and changes nothing; repeats are no-ops.

    Checked in order: signature and freshness (bad_signature, stale), body (malformed_callback),
    nonce (replayed), the payment or refund it names (not found), its amount (amount_mismatch).
    """
    try:
        notice = provider.verify_callback(headers, body, clock.now())
        await callbacks.use_nonce(uow, clock, headers, body)
        if isinstance(notice, RefundNotice):
            return await refunds.apply_notice(uow, clock, notice)
        payment = await _paid_payment(uow, clock, notice)
    except (CallbackRejected, Invalid, NotFound) as err:
        await callbacks.file_rejected(uow, clock, err, headers, body)
        raise
    if payment.kind == PaymentKind.DEPOSIT.value and payment.status == PaymentStatus.PAID.value:
        await settle_deposit(uow, clock, cipher, provider, payment)
    return payment


async def _paid_payment(uow: UnitOfWork, clock: Clock, callback: model.Callback) -> Payment:
    """Record a payment callback on its payment (once); the deposit's bookings are settled after."""
    session = uow.session
    payment = await session.scalar(select(Payment).where(Payment.id == callback.payment_id).with_for_update())
    if payment is None:
        raise NotFound(f"no payment {callback.payment_id}", code="payment_not_found", field="payment_id")
    model.check_amount(payment.amount, callback)
    if callback.status != "paid":
        await uow.commit()
        return payment
    if model.can_transition(PaymentStatus(payment.status), PaymentStatus.PAID):
        payment.status = PaymentStatus.PAID.value
        payment.provider_txn = callback.txn_id
        payment.paid_at = clock.now()
        if payment.kind == PaymentKind.BALANCE.value and payment.booking_ref is not None:
            await _apply_balance(uow, clock, payment)
        await uow.commit()
        logger.info("payment paid", extra={"payment_id": payment.id, "amount": payment.amount})
    else:
        await uow.commit()
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
) -> PaymentRefund | None:
    """Record a refund (idempotent by its id), then ask the provider; it stays pending if that fails."""
    if amount <= 0:
        return None
    booking = await uow.session.get(Booking, ref)
    request = refunds.RefundRequest(
        payment_id=payment.id,
        tenant_id=payment.tenant_id,
        booking_ref=ref,
        store_id=booking.store_id if booking is not None else None,
        amount=amount,
        reason=reason,
        refund_id=refunds.refund_id_for(payment.id, ref, reason),
    )
    refund = await refunds.add_refund(uow.session, clock, request, actor=ACTOR)
    refund_id = refund.id
    await uow.commit()
    return await refunds.try_refund(uow, clock, provider, refund_id)


async def refunds_of(uow: UnitOfWork, ref: str) -> list[PaymentRefund]:
    """The refunds recorded for a booking."""
    return list(await uow.session.scalars(select(PaymentRefund).where(PaymentRefund.booking_ref == ref)))


async def _paid_for(session: AsyncSession, booking: Booking) -> list[Payment]:
    """The provider payments a booking was paid with (its order's deposit, its balances)."""
    return list(
        await session.scalars(
            select(Payment)
            .where(
                Payment.status == PaymentStatus.PAID.value,
                (Payment.id == booking.payment_ref) | (Payment.booking_ref == booking.ref),
            )
            .order_by(Payment.created_at, Payment.id)
        )
    )


async def _capacities(
    session: AsyncSession, booking: Booking, payments: list[Payment]
) -> list[tuple[str, int]]:
    """What each payment can still give back for this booking (the deposit first, then balances)."""
    rows = (
        await session.execute(
            select(PaymentRefund.payment_id, PaymentRefund.reason, PaymentRefund.amount).where(
                PaymentRefund.booking_ref == booking.ref
            )
        )
    ).all()
    given_back: dict[str, int] = {}
    lowered = 0  # refunds that lowered amount_paid (cheaper reschedules)
    for payment_id, reason, amount in rows:
        given_back[payment_id] = given_back.get(payment_id, 0) + amount
        if reason == RefundReason.RESCHEDULED.value:
            lowered += amount
    gross = booking.amount_paid + lowered
    balances = sum(p.amount for p in payments if p.kind == PaymentKind.BALANCE.value)
    out: list[tuple[str, int]] = []
    for p in sorted(payments, key=lambda p: p.kind != PaymentKind.DEPOSIT.value):
        share_of = gross - balances if p.kind == PaymentKind.DEPOSIT.value else p.amount
        out.append((p.id, share_of - given_back.get(p.id, 0)))
    return out


async def _owe_refunds(
    session: AsyncSession, clock: Clock, booking: Booking, amount: int, reason: RefundReason, actor: str
) -> list[str]:
    """Record the refunds of `amount` for a booking over its provider payments (caller's transaction)."""
    payments = await _paid_for(session, booking)
    if amount <= 0 or not payments:
        return []  # nothing due, or paid outside the provider (at the desk): the desk pays it back
    serial = None
    if reason is RefundReason.RESCHEDULED:
        serial = int(
            await session.scalar(
                select(func.count())
                .select_from(PaymentRefund)
                .where(PaymentRefund.booking_ref == booking.ref, PaymentRefund.reason == reason.value)
            )
            or 0
        )
    parts = model.refund_split(amount, await _capacities(session, booking, payments))
    by_id = {p.id: p for p in payments}
    ids = []
    for payment_id, part in parts:
        request = refunds.RefundRequest(
            payment_id=payment_id,
            tenant_id=by_id[payment_id].tenant_id,
            booking_ref=booking.ref,
            store_id=booking.store_id,
            amount=part,
            reason=reason,
            refund_id=refunds.refund_id_for(payment_id, booking.ref, reason, serial),
        )
        ids.append((await refunds.add_refund(session, clock, request, actor=actor)).id)
    return ids


async def cancel_and_refund(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider | None,
    principal: Principal,
    ref: str,
    *,
    notify_url: str | None = None,
) -> Booking:
    """Cancel a booking by its terms; the refund due is recorded with the cancellation, then paid back
    through the provider (the booking becomes refunded when the provider confirms every part).

    Without a provider the refunds wait, pending, for the sweeper of a worker that has one.
    """
    owed: list[str] = []

    async def record(booking: Booking) -> None:
        owed.extend(
            await _owe_refunds(
                uow.session,
                clock,
                booking,
                booking.refund_amount or 0,
                RefundReason.CANCELLED,
                principal.actor,
            )
        )

    await booking_services.cancel_booking(uow, clock, principal, ref, on_cancel=record)
    if provider is not None:
        for refund_id in owed:
            await refunds.try_refund(uow, clock, provider, refund_id, notify_url=notify_url)
    booking = await uow.session.get(Booking, ref, populate_existing=True)
    assert booking is not None
    await uow.commit()
    return booking


@dataclass(frozen=True, slots=True)
class Rescheduled:
    """A moved booking and what the move settled: a payment to make (dearer) or a refund (cheaper)."""

    booking: Booking
    payment: Payment | None
    refund_ids: list[str]


async def reschedule_and_settle(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider | None,
    principal: Principal,
    ref: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    room_id: str | None = None,
    notify_url: str | None = None,
    return_url: str | None = None,
) -> Rescheduled:
    """Move a booking (re-priced by the booking service) and settle the price difference of a paid one.

    Dearer: a balance payment of the difference is started at the provider (its pay_url is where the
    customer pays it; unpaid, the difference stays on the booking's balance). Cheaper: the
    difference is refunded through the provider, keeping the new slot's deposit. A booking paid at
    the desk is settled at the desk (its balance just changes).
    """
    session = uow.session
    before = await booking_services.get_booking(session, principal, ref)
    old_price = before.price_total
    await uow.commit()
    booking = await booking_services.reschedule(
        uow, clock, principal, ref, starts_at=starts_at, ends_at=ends_at, room_id=room_id
    )
    deposit_pct = int((booking.terms or {}).get("deposit_pct", 0))
    paid_online = booking.status == S.CONFIRMED.value and bool(await _paid_for(session, booking))
    settlement = model.reschedule_settlement(
        old_price, booking.price_total, booking.amount_paid, share(booking.price_total, deposit_pct)
    )
    await uow.commit()
    if not paid_online:
        return Rescheduled(booking, None, [])
    if settlement.refund:
        locked = await session.scalar(
            select(Booking)
            .where(Booking.ref == ref)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert locked is not None
        owed = await _owe_refunds(
            session, clock, locked, settlement.refund, RefundReason.RESCHEDULED, principal.actor
        )
        view = lifecycle.booking_view(locked)
        locked.amount_paid -= settlement.refund
        locked.updated_at = clock.now()
        lifecycle.audit(
            session,
            locked,
            at=clock.now(),
            actor=principal.actor,
            action="booking.reschedule_refund",
            before=view,
            extra={"refund_ids": owed},
        )
        await uow.commit()
        if provider is not None:
            for refund_id in owed:
                await refunds.try_refund(uow, clock, provider, refund_id, notify_url=notify_url)
        fresh = await session.get(Booking, ref, populate_existing=True)
        assert fresh is not None
        await uow.commit()
        return Rescheduled(fresh, None, owed)
    if settlement.charge and provider is not None and notify_url and return_url:
        link = await session.get(OrderBooking, ref)
        order = await session.get(Order, link.order_id) if link is not None else None
        if order is not None:
            payment = await start_balance(
                uow,
                clock,
                provider,
                order,
                ref,
                notify_url=notify_url,
                return_url=return_url,
                amount=settlement.charge,
            )
            return Rescheduled(booking, payment, [])
    return Rescheduled(booking, None, [])
