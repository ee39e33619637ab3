"""ORM table of devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class Device(Base):
    """A device of a store, in a room or store-wide (room_id null)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    room_id: Mapped[str | None] = mapped_column(ForeignKey("rooms.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    protocol: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]]
    # A store-wide device's alarm zone ("": none); a room's device takes its room's zone.
    zone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    created_at: Mapped[datetime]
