"""ORM tables of payments: payments (client-made ids) and the refunds paid back out of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
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
    """Money given back out of a payment for one booking; our id makes it idempotent at the provider."""

    __tablename__ = "payment_refunds"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    booking_ref: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # pending until the provider accepts it, then done
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
