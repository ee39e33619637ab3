"""ORM tables of booking: bookings (holds included) and blocked time of rooms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base

# The statuses whose occupied range no other booking may overlap (model.OCCUPYING).
OCCUPYING_SQL = "status IN ('held', 'confirmed', 'redeemed', 'completed')"


class Booking(Base):
    """A booking of a room's time (a hold until paid); the phone is stored encrypted, its last 4 in clear.

    `occupied_until` is the end plus the cleaning gap: [starts_at, occupied_until) is what no other
    booking of the room may overlap. On PostgreSQL an exclusion constraint holds that too.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("store_id", "order_no"),
        Index("ix_bookings_room_window", "room_id", "starts_at", "ends_at"),
        Index("ix_bookings_status_hold", "status", "hold_expires_at"),
        ExcludeConstraint(
            (text("room_id"), "="),
            (func.tstzrange(text("starts_at"), text("occupied_until"), text("'[)'")), "&&"),
            name="ex_bookings_room_occupied",
            using="gist",
            where=text(OCCUPYING_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    occupied_until: Mapped[datetime]
    customer_name: Mapped[str] = mapped_column(String(200))
    phone_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    phone_last4: Mapped[str] = mapped_column(String(4))
    party_size: Mapped[int | None] = mapped_column(Integer)
    order_no: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="admin")
    key_version: Mapped[int] = mapped_column(Integer)
    hold_expires_at: Mapped[datetime | None]
    # Money in fen: the quoted price, the deposit the hold asks for, what was paid and refunded.
    price_total: Mapped[int] = mapped_column(Integer, default=0)
    deposit_due: Mapped[int] = mapped_column(Integer, default=0)
    amount_paid: Mapped[int] = mapped_column(Integer, default=0)
    payment_ref: Mapped[str | None] = mapped_column(String(100))
    refund_amount: Mapped[int | None] = mapped_column(Integer)
    refund_ref: Mapped[str | None] = mapped_column(String(100))
    quote: Mapped[dict[str, Any] | None]
    # The rules the customer agreed to (cleaning gap, deposit, cancellation tiers, reschedule notice).
    terms: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class BlockedSlot(Base):
    """Time a room cannot be booked: a film showing (imported), maintenance, or a manual block."""

    __tablename__ = "blocked_slots"
    __table_args__ = (
        UniqueConstraint("room_id", "kind", "starts_at", "ends_at"),
        Index("ix_blocked_slots_room_window", "room_id", "starts_at", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
