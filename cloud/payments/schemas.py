"""Request and response models of orders and payments (kept apart from the ORM)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.booking.schemas import BookingOut
from cloud.payments.services import Rescheduled
from cloud.payments.tables import Payment, PaymentRefund, RejectedCallback


class OrderItemIn(BaseModel):
    """One room's time in an order."""

    room_id: str
    starts_at: datetime
    ends_at: datetime
    party_size: int = Field(ge=1, le=500)


class CustomerIn(BaseModel):
    """Who orders."""

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=4, max_length=40)


class OrderCreate(BaseModel):
    """A cross-store order: rooms in any of the tenant's stores, held all-or-nothing."""

    items: list[OrderItemIn] = Field(min_length=1)
    customer: CustomerIn


class PaymentIn(BaseModel):
    """Start a payment: the order's deposits, or one booking's balance."""

    kind: Literal["deposit", "balance"] = "deposit"
    booking_ref: str | None = None
    return_url: str | None = None


class PaymentOut(BaseModel):
    """A payment and where the customer pays it."""

    id: str
    order_id: str
    kind: str
    amount: int
    status: str
    pay_url: str | None
    booking_ref: str | None

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        """Build from the ORM row."""
        return cls(
            id=payment.id,
            order_id=payment.order_id,
            kind=payment.kind,
            amount=payment.amount,
            status=payment.status,
            pay_url=payment.pay_url,
            booking_ref=payment.booking_ref,
        )


class OrderOut(BaseModel):
    """An order with its bookings; `page_token` (shown only at creation) opens the customer's page."""

    id: str
    customer_name: str
    deposit_total: int
    bookings: list[BookingOut]
    page_token: str | None = None
    page_path: str | None = None


class RefundOut(BaseModel):
    """A refund and where it stands at the provider (attempts and next try while pending)."""

    id: str
    payment_id: str
    booking_ref: str
    store_id: str | None
    amount: int
    reason: str
    status: str
    attempts: int
    next_try_at: datetime | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None

    @classmethod
    def of(cls, refund: PaymentRefund) -> RefundOut:
        """Build from the ORM row."""
        return cls(
            id=refund.id,
            payment_id=refund.payment_id,
            booking_ref=refund.booking_ref,
            store_id=refund.store_id,
            amount=refund.amount,
            reason=refund.reason,
            status=refund.status,
            attempts=refund.attempts,
            next_try_at=refund.next_try_at,
            last_error=refund.last_error,
            created_at=refund.created_at,
            done_at=refund.done_at,
        )


class RejectedCallbackOut(BaseModel):
    """A refused provider callback, as kept for HQ."""

    id: str
    payment_id: str | None
    reason: str
    detail: str
    body: str
    headers: dict[str, Any]
    received_at: datetime

    @classmethod
    def of(cls, row: RejectedCallback) -> RejectedCallbackOut:
        """Build from the ORM row."""
        return cls(
            id=row.id,
            payment_id=row.payment_id,
            reason=row.reason,
            detail=row.detail,
            body=row.body,
            headers=row.headers,
            received_at=row.received_at,
        )


class RescheduleOut(BookingOut):
    """A moved booking and what the move settled: a payment to make (pay_url) or refunds made."""

    payment: PaymentOut | None = None
    refunds: list[RefundOut] = Field(default_factory=list)


async def reschedule_out(session: AsyncSession, moved: Rescheduled) -> RescheduleOut:
    """The answer of a reschedule: the booking, the payment it started, the refunds it made."""
    rows = [await session.get(PaymentRefund, refund_id) for refund_id in moved.refund_ids]
    base = BookingOut.of(moved.booking).model_dump()
    return RescheduleOut(
        **base,
        payment=PaymentOut.of(moved.payment) if moved.payment is not None else None,
        refunds=[RefundOut.of(r) for r in rows if r is not None],
    )
