"""ORM tables of fault work orders, their work log and their photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class WorkOrderEntry(Base):
    """One line of a work order's log: a transition or a note, who wrote it, and the states around it."""

    __tablename__ = "work_order_entries"
    __table_args__ = (Index("ix_work_order_entries_order_at", "work_order_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)


class WorkOrderPhoto(Base):
    """A photo taken on site, kept on disk under the uploads directory by a random name."""

    __tablename__ = "work_order_photos"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    uploader: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # relative to the uploads directory; never derived from the client's file name
    stored_path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
