"""Request and response models of orders and payments (kept apart from the ORM)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloud.booking.schemas import BookingOut
from cloud.payments.tables import Payment


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
