"""ORM tables of the edge link: edges, the store feed, ingested events, redemptions, commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud.audit.tables import AutoId
from cloud.orm import Base


class Edge(Base):
    """An edge daemon of a store: its one-time bootstrap token, its certificate, its link state."""

    __tablename__ = "edges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    enrolled_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    cert_serial: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[datetime | None]
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    software_version: Mapped[str] = mapped_column(String(100), default="")


class FeedItem(Base):
    """The latest version of one item of a store's data, stamped with the store cursor of its change."""

    __tablename__ = "store_feed"
    __table_args__ = (
        UniqueConstraint("store_id", "entity", "entity_id"),
        Index("ix_store_feed_store_cursor", "store_id", "cursor"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]]


class EdgeEvent(Base):
    """An event received from an edge, recorded once per (edge_id, seq)."""

    __tablename__ = "edge_events"
    __table_args__ = (
        UniqueConstraint("edge_id", "seq"),
        Index("ix_edge_events_store_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    edge_id: Mapped[str] = mapped_column(ForeignKey("edges.id"))
    store_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)


class Redemption(Base):
    """A redemption reported by an edge; `known_to_cloud` is false for a booking the cloud lacks."""

    __tablename__ = "redemptions"
    __table_args__ = (Index("ix_redemptions_store_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(String(40))
    edge_id: Mapped[str] = mapped_column(ForeignKey("edges.id"))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    booking_ref: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(20))
    known_to_edge: Mapped[bool] = mapped_column(Boolean)
    known_to_cloud: Mapped[bool] = mapped_column(Boolean)
    key_version: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[str | None] = mapped_column(String(64))


class EdgeCommand(Base):
    """A command sent to a store's edge, with its result (the audit of remote actions)."""

    __tablename__ = "edge_commands"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    edge_id: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict[str, Any]]
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    deadline: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    completed_at: Mapped[datetime | None]
