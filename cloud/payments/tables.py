"""ORM tables of payments: payments, the refunds paid out of them, callback nonces, rejected callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class Payment(Base):
    """One payment at the provider: the deposits of an order, or the balance of one booking."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    booking_ref: Mapped[str | None] = mapped_column(String(40))  # a balance payment's booking
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    pay_url: Mapped[str | None] = mapped_column(String(500))
    provider_txn: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]


class PaymentRefund(Base):
    """Money given back out of a payment for one booking; our id makes it idempotent at the provider.

    `pending` until the provider confirms it (`done`); each failed try counts in `attempts` and sets
    `next_try_at` (the sweeper's queue); after too many it is `failed` and waits for staff.
    """

    __tablename__ = "payment_refunds"
    __table_args__ = (Index("ix_payment_refunds_status_next_try_at", "status", "next_try_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    booking_ref: Mapped[str] = mapped_column(String(40), index=True)
    store_id: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class PaymentCallbackNonce(Base):
    """A nonce of an accepted provider callback, kept for the replay window (the key makes it single-use)."""

    __tablename__ = "payment_callback_nonces"

    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime]


class RejectedCallback(Base):
    """A provider callback that was refused (forged, stale, replayed, wrong amount...), kept for HQ to see."""

    __tablename__ = "payment_rejected_callbacks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    payment_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(index=True)
