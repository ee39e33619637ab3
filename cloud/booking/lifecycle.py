"""The guarded transitions of a booking: each checks the table, changes the row, audits, tells the edge.

Every function works inside the caller's transaction (no commit). Only statuses an edge knows
(confirmed and after) reach the store feed; holds never leave the cloud.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.booking import model
from cloud.booking.model import BookingStatus, Refund
from cloud.booking.tables import Booking
from cloud.edgelink.feed import record_change
from cloud.edgelink.model import FeedEntity

S = BookingStatus


def booking_info(booking: Booking) -> model.BookingInfo:
    """The edge's view of a booking."""
    return model.BookingInfo(
        ref=booking.ref,
        room_id=booking.room_id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        order_no=booking.order_no,
        phone_last4=booking.phone_last4,
        status=BookingStatus(booking.status),
    )


def booking_view(booking: Booking) -> dict[str, Any]:
    """The audit view of a booking (no phone number)."""
    return {
        "ref": booking.ref,
        "room_id": booking.room_id,
        "store_id": booking.store_id,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "occupied_until": booking.occupied_until.isoformat(),
        "order_no": booking.order_no,
        "status": booking.status,
        "price_total": booking.price_total,
        "amount_paid": booking.amount_paid,
        "refund_amount": booking.refund_amount,
    }


async def publish(session: AsyncSession, booking: Booking) -> None:
    """Put the booking's current version in its store's feed, if an edge may know it."""
    if BookingStatus(booking.status) in model.EDGE_VISIBLE:
        await record_change(
            session, booking.store_id, FeedEntity.BOOKING, booking.ref, booking_info(booking).payload()
        )


def audit(
    session: AsyncSession,
    booking: Booking,
    *,
    at: datetime,
    actor: str,
    action: str,
    before: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """One audit row for a change of the booking."""
    after = booking_view(booking)
    if extra:
        after.update(extra)
    record_audit(
        session,
        at=at,
        tenant_id=booking.tenant_id,
        actor=actor,
        action=action,
        entity="booking",
        entity_id=booking.ref,
        before=before,
        after=after,
    )


async def _move(
    session: AsyncSession,
    booking: Booking,
    target: BookingStatus,
    *,
    now: datetime,
    actor: str,
    extra: dict[str, Any] | None = None,
) -> None:
    current = BookingStatus(booking.status)
    model.transition(current, target)
    before = booking_view(booking)
    booking.status = target.value
    booking.updated_at = now
    await session.flush()
    if model.tells_edge(current, target):
        await publish(session, booking)
    audit(session, booking, at=now, actor=actor, action=f"booking.{target.value}", before=before, extra=extra)


async def confirm(
    session: AsyncSession,
    booking: Booking,
    *,
    now: datetime,
    actor: str,
    payment_ref: str | None,
    amount_paid: int,
) -> None:
    """held -> confirmed: the payment (or the operator) secured it; the edge learns of it now."""
    booking.payment_ref = payment_ref
    booking.amount_paid = amount_paid
    booking.hold_expires_at = None
    booking.confirmed_at = now
    await _move(session, booking, S.CONFIRMED, now=now, actor=actor, extra={"payment_ref": payment_ref})


async def expire(session: AsyncSession, booking: Booking, *, now: datetime, actor: str) -> None:
    """held -> expired: unpaid at its deadline; its time is free again."""
    await _move(session, booking, S.EXPIRED, now=now, actor=actor)


async def cancel(
    session: AsyncSession, booking: Booking, *, now: datetime, actor: str, refund: Refund | None
) -> None:
    """held|confirmed -> cancelled, recording the refund due by the booking's terms; the edge revokes it."""
    booking.cancelled_at = now
    booking.refund_amount = refund.amount if refund is not None else 0
    extra = {"refund_pct": refund.pct, "minutes_before": refund.minutes_before} if refund else None
    await _move(session, booking, S.CANCELLED, now=now, actor=actor, extra=extra)


async def redeem(session: AsyncSession, booking: Booking, *, now: datetime, actor: str) -> None:
    """confirmed -> redeemed: the customer came in."""
    await _move(session, booking, S.REDEEMED, now=now, actor=actor)


async def complete(session: AsyncSession, booking: Booking, *, now: datetime, actor: str) -> None:
    """redeemed -> completed: the session and its cleaning are over."""
    await _move(session, booking, S.COMPLETED, now=now, actor=actor)


async def refund(
    session: AsyncSession, booking: Booking, *, now: datetime, actor: str, refund_ref: str
) -> None:
    """cancelled -> refunded: the refund due was paid out."""
    booking.refund_ref = refund_ref
    await _move(session, booking, S.REFUNDED, now=now, actor=actor, extra={"refund_ref": refund_ref})
