"""ORM table of store keys (encrypted with the master key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from cloud.orm import Base


class StoreKey(Base):
    """One version of a store's key; old versions stay valid after rotation."""

    __tablename__ = "store_keys"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
