"""ORM table of fault work orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class WorkOrder(Base):
    """A fault reported by an edge, as a work order routed by region and severity (one per fault)."""

    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("store_id", "fault_id"),
        Index("ix_work_orders_tenant_state", "tenant_id", "state"),
        Index("ix_work_orders_region_state", "region_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    edge_id: Mapped[str] = mapped_column(String(40))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    fault_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    device_kind: Mapped[str] = mapped_column(String(40))
    room_id: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    assignee_role: Mapped[str] = mapped_column(String(40))
    hq_alert: Mapped[bool] = mapped_column(Boolean)
    assignee: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)
    raised_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    edge_sync: Mapped[str | None] = mapped_column(String(20))
    edge_sync_code: Mapped[str | None] = mapped_column(String(60))
    edge_synced_at: Mapped[datetime | None]
