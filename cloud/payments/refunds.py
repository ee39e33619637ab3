"""Refunds: recorded first (idempotent by our id), then asked of the provider, retried until it confirms.

A refund row is written in the same transaction as the change that owes it (a cancellation, a
cheaper reschedule, a late payment). Its creator tries it at once; a refusal or a timeout leaves it
`pending` with its attempts and next try, for the sweeper (`cloud.payments.sweeper`) of any worker.
The provider's answer comes synchronously or as a signed callback (`apply_notice`); a cancelled
booking becomes `refunded` once every refund of its cancellation is done. After the last try the
refund is `failed`, audited and listed for staff, who may try it again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal, in_reach
from cloud.booking import services as booking_services
from cloud.booking.model import BookingStatus
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.errors import Conflict, NotFound
from cloud.payments import model
from cloud.payments.model import RefundNotice, RefundReason, RefundStatus
from cloud.payments.provider import PaymentProvider, ProviderError
from cloud.payments.tables import PaymentRefund
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)

ACTOR = "system:payments"
Jitter = Callable[[], float]


def refund_id_for(payment_id: str, ref: str, why: RefundReason, serial: int | None = None) -> str:
    """Our id of a refund (the provider's idempotency key): one per payment, booking and cause."""
    base = f"{payment_id}:{ref}:{why.value}"
    return base if serial is None else f"{base}:{serial}"


def refund_view(refund: PaymentRefund) -> dict[str, Any]:
    """The audit view of a refund."""
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "booking_ref": refund.booking_ref,
        "amount": refund.amount,
        "reason": refund.reason,
        "status": refund.status,
        "attempts": refund.attempts,
        "next_try_at": refund.next_try_at.isoformat() if refund.next_try_at else None,
        "last_error": refund.last_error,
    }


def _audit(
    session: AsyncSession,
    refund: PaymentRefund,
    *,
    at: Any,
    actor: str,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        at=at,
        tenant_id=refund.tenant_id,
        actor=actor,
        action=action,
        entity="payment_refund",
        entity_id=refund.id,
        before=before,
        after=refund_view(refund),
    )


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund owed: out of which payment, for which booking, how much and why."""

    payment_id: str
    tenant_id: str
    booking_ref: str
    store_id: str | None
    amount: int
    reason: RefundReason
    refund_id: str


async def add_refund(
    session: AsyncSession, clock: Clock, request: RefundRequest, *, actor: str
) -> PaymentRefund:
    """Record a refund in the caller's transaction (no commit); the same id again returns the first.

    Its next try is one lease away: the caller tries it right after commit, the sweeper only if
    the caller could not.
    """
    existing = await session.get(PaymentRefund, request.refund_id)
    if existing is not None:
        return existing
    now = clock.now()
    refund = PaymentRefund(
        id=request.refund_id,
        tenant_id=request.tenant_id,
        payment_id=request.payment_id,
        booking_ref=request.booking_ref,
        store_id=request.store_id,
        amount=request.amount,
        reason=request.reason.value,
        status=RefundStatus.PENDING.value,
        attempts=0,
        next_try_at=now + model.REFUND_LEASE,
        last_error=None,
        created_at=now,
        done_at=None,
    )
    session.add(refund)
    await session.flush()
    _audit(session, refund, at=now, actor=actor, action="payment_refund.create", before=None)
    return refund


@dataclass(frozen=True, slots=True)
class _Due:
    """What a try needs of a refund row (plain values: rows expire on commit)."""

    id: str
    payment_id: str
    amount: int


async def try_refund(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    refund_id: str,
    *,
    notify_url: str | None = None,
    jitter: Jitter = random.random,
) -> PaymentRefund | None:
    """Ask the provider for a pending refund once and record the outcome (done, next try, or failed)."""
    session = uow.session
    row = await session.get(PaymentRefund, refund_id, populate_existing=True)
    if row is None or row.status != RefundStatus.PENDING.value:
        await uow.commit()
        return row
    due = _Due(row.id, row.payment_id, row.amount)
    await uow.commit()  # no transaction (nor SQLite's write lock) is held while the provider answers
    error: str | None = None
    succeeded = False
    try:
        answer = await provider.refund(
            payment_id=due.payment_id, refund_id=due.id, amount=due.amount, notify_url=notify_url
        )
        succeeded = answer.succeeded
        if not succeeded:
            error = f"the provider is still processing it ({answer.status})"
    except ProviderError as err:
        error = err.detail[:500]
        logger.warning("refund try failed at the provider", extra={"refund_id": due.id, "error": error})
    return await _record_try(uow, clock, due.id, succeeded=succeeded, error=error, jitter=jitter)


async def _record_try(
    uow: UnitOfWork, clock: Clock, refund_id: str, *, succeeded: bool, error: str | None, jitter: Jitter
) -> PaymentRefund | None:
    session = uow.session
    now = clock.now()
    refund = await session.scalar(
        select(PaymentRefund)
        .where(PaymentRefund.id == refund_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if refund is None or refund.status != RefundStatus.PENDING.value:
        await uow.commit()  # a callback settled it meanwhile
        return refund
    before = refund_view(refund)
    outcome = model.after_refund_try(refund.attempts, succeeded=succeeded, jitter=jitter())
    refund.attempts = outcome.attempts
    refund.status = outcome.status.value
    refund.last_error = error
    if outcome.status is RefundStatus.DONE:
        refund.done_at = now
        refund.next_try_at = None
        _audit(session, refund, at=now, actor=ACTOR, action="payment_refund.done", before=before)
    elif outcome.status is RefundStatus.FAILED:
        refund.next_try_at = None
        _audit(session, refund, at=now, actor=ACTOR, action="payment_refund.failed", before=before)
        logger.error(
            "refund failed for good: staff must act",
            extra={"refund_id": refund.id, "attempts": refund.attempts, "error": error},
        )
    else:
        assert outcome.next_try_in_s is not None
        refund.next_try_at = now + timedelta(seconds=outcome.next_try_in_s)
        _audit(session, refund, at=now, actor=ACTOR, action="payment_refund.retry_scheduled", before=before)
    ref, done = refund.booking_ref, outcome.status is RefundStatus.DONE
    await uow.commit()
    if done:
        await finish_booking(uow, clock, ref)
    return refund


async def apply_notice(uow: UnitOfWork, clock: Clock, notice: RefundNotice) -> PaymentRefund:
    """The provider's signed word on a refund: done (idempotent), or tried again later if it failed."""
    session = uow.session
    refund = await session.get(PaymentRefund, notice.refund_id, populate_existing=True)
    if refund is None or refund.payment_id != notice.payment_id:
        raise NotFound(f"no refund {notice.refund_id}", code="refund_not_found", field="refund_id")
    model.check_amount(refund.amount, notice)
    if refund.status == RefundStatus.DONE.value:
        await uow.commit()
        return refund
    await uow.commit()
    await _record_try(
        uow, clock, notice.refund_id, succeeded=notice.succeeded, error=None, jitter=random.random
    )
    refreshed = await session.get(PaymentRefund, notice.refund_id, populate_existing=True)
    assert refreshed is not None
    await uow.commit()
    return refreshed


async def finish_booking(uow: UnitOfWork, clock: Clock, ref: str) -> None:
    """A cancelled booking whose cancellation refunds are all done becomes refunded (idempotent)."""
    session = uow.session
    booking = await session.get(Booking, ref, populate_existing=True)
    open_refunds = await session.scalar(
        select(func.count())
        .select_from(PaymentRefund)
        .where(
            PaymentRefund.booking_ref == ref,
            PaymentRefund.reason == RefundReason.CANCELLED.value,
            PaymentRefund.status != RefundStatus.DONE.value,
        )
    )
    cancelled = booking is not None and booking.status == BookingStatus.CANCELLED.value
    has_cancel_refund = await session.scalar(
        select(func.count())
        .select_from(PaymentRefund)
        .where(PaymentRefund.booking_ref == ref, PaymentRefund.reason == RefundReason.CANCELLED.value)
    )
    await uow.commit()
    if cancelled and has_cancel_refund and not open_refunds:
        await booking_services.record_refund(
            uow, clock, ref=ref, refund_ref=f"cancel:{ref}", tenant_id=None, actor=ACTOR
        )


async def list_refunds(
    session: AsyncSession,
    principal: Principal,
    *,
    status: RefundStatus | None = None,
    store_id: str | None = None,
    booking_ref: str | None = None,
) -> list[PaymentRefund]:
    """The refunds the caller may see (their tenant, their stores), newest first."""
    query = select(PaymentRefund).where(PaymentRefund.tenant_id == principal.tenant_id)
    if status is not None:
        query = query.where(PaymentRefund.status == status.value)
    if store_id is not None:
        query = query.where(PaymentRefund.store_id == store_id)
    if booking_ref is not None:
        query = query.where(PaymentRefund.booking_ref == booking_ref)
    rows = await session.scalars(query.order_by(PaymentRefund.created_at.desc(), PaymentRefund.id).limit(500))
    return [
        r for r in rows if in_reach(principal, r.tenant_id, store_id=r.store_id, booking_ref=r.booking_ref)
    ]


async def retry_by_staff(
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    principal: Principal,
    refund_id: str,
    *,
    notify_url: str | None,
) -> PaymentRefund:
    """Try a pending or failed refund again now, its count starting over (a done one is left as it is)."""
    session = uow.session
    refund = await session.scalar(
        select(PaymentRefund).where(PaymentRefund.id == refund_id).with_for_update()
    )
    if refund is None or not in_reach(
        principal, refund.tenant_id, store_id=refund.store_id, booking_ref=refund.booking_ref
    ):
        raise NotFound(f"no refund {refund_id}", code="refund_not_found", field="refund_id")
    if refund.status == RefundStatus.DONE.value:
        await uow.commit()
        return refund
    if refund.status not in (RefundStatus.PENDING.value, RefundStatus.FAILED.value):
        raise Conflict(f"a {refund.status} refund cannot be retried", code="refund_not_retryable")
    now = clock.now()
    before = refund_view(refund)
    refund.status = RefundStatus.PENDING.value
    refund.attempts = 0
    refund.next_try_at = now + model.REFUND_LEASE
    _audit(session, refund, at=now, actor=principal.actor, action="payment_refund.retry", before=before)
    await uow.commit()
    result = await try_refund(uow, clock, provider, refund_id, notify_url=notify_url)
    assert result is not None
    return result
