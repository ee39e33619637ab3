"""ORM tables of orders: the order (found by the hash of its customer token) and its bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class Order(Base):
    """A customer's order; its page is reached by a secret token whose sha256 is `access_hash`."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class OrderBooking(Base):
    """A booking of an order; a booking replaced by a re-hold (paid after expiry) is no longer active."""

    __tablename__ = "order_bookings"

    booking_ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    replaced_by: Mapped[str | None] = mapped_column(String(40))
