"""ORM table of booking settings: the values one level (chain, room type, store) sets, and HQ's bounds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class BookingSettings(Base):
    """The settings one level sets: scope is "" (chain), a room type, or a store id; bounds on chain only."""

    __tablename__ = "booking_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    bounds: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]
