"""ORM tables of tenancy: tenants, regions, stores (with their feed cursor) and rooms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class Tenant(Base):
    """A group of stores (a chain or a franchisee)."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class Region(Base):
    """A region of a tenant, grouping stores."""

    __tablename__ = "regions"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Store(Base):
    """A store; `feed_cursor` numbers every change of its store data, in commit order.

    `early_grace_s` is the effective store-level grace (the booking settings decide it; kept here
    for the edge). `opening_hours` None means open around the clock.
    """

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    early_grace_s: Mapped[int] = mapped_column(Integer, default=900)
    feed_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    city: Mapped[str] = mapped_column(String(100), default="")
    area: Mapped[str] = mapped_column(String(100), default="")
    opening_hours: Mapped[dict[str, Any] | None]
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Room(Base):
    """A bookable space of a store: its type (settings, search), capacity, facilities and price plan."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    room_type: Mapped[str] = mapped_column(String(40))
    capacity_min: Mapped[int] = mapped_column(Integer, default=1)
    capacity_max: Mapped[int | None] = mapped_column(Integer)
    facilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_plan: Mapped[dict[str, Any] | None]
    # The alarm zone (floor, wing) the room lies in; "": none (an alarm there opens the whole store).
    zone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    created_at: Mapped[datetime]
