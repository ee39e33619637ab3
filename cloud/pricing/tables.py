"""ORM table of pricing: a tenant's calendar of public holidays and make-up working days."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class CalendarDay(Base):
    """A day a tenant prices differently: a public holiday, or a make-up working day (调休)."""

    __tablename__ = "calendar_days"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
