"""ORM table of service calls placed from rooms' QR codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class ServiceCall(Base):
    """A customer's call to the staff from a room: did the store's edge receive it, did staff answer it."""

    __tablename__ = "service_calls"
    __table_args__ = (Index("ix_service_calls_store_created", "store_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    # No foreign key: a room deleted later keeps its past calls.
    room_id: Mapped[str] = mapped_column(String(40))
    room_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    # the edge's answer code ("ok", "edge_offline", "edge_timeout", "no_such_room", ...)
    code: Mapped[str | None] = mapped_column(String(60))
    command_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # when staff marked it done at the store's panel, and who (the edge's `answer_call` action)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(200))
