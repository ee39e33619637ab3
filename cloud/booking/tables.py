"""ORM table of bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class Booking(Base):
    """A booking of a room's time; the phone is stored encrypted, its last 4 digits in clear."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("store_id", "order_no"),
        Index("ix_bookings_room_window", "room_id", "starts_at", "ends_at"),
    )

    ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    customer_name: Mapped[str] = mapped_column(String(200))
    phone_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    phone_last4: Mapped[str] = mapped_column(String(4))
    order_no: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    key_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
