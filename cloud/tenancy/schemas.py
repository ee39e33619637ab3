"""Request and response models of the tenancy API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cloud.tenancy.model import DEFAULT_EARLY_GRACE_S


class RegionCreate(BaseModel):
    """POST /api/v1/regions."""

    name: str = Field(min_length=1, max_length=200)


class RegionOut(BaseModel):
    """A region."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: datetime


class StoreCreate(BaseModel):
    """POST /api/v1/stores."""

    region_id: str
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Asia/Shanghai"
    early_grace_s: int = DEFAULT_EARLY_GRACE_S


class StoreUpdate(BaseModel):
    """PATCH /api/v1/stores/{store_id}: fields to change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    early_grace_s: int | None = None


class StoreOut(BaseModel):
    """A store."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    region_id: str
    name: str
    timezone: str
    early_grace_s: int
    feed_cursor: int
    created_at: datetime


class KeyVersionsOut(BaseModel):
    """The store key versions held after a rotation."""

    store_id: str
    key_versions: list[int]


class RoomCreate(BaseModel):
    """POST /api/v1/rooms."""

    store_id: str
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=40)


class RoomOut(BaseModel):
    """A room."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    name: str
    kind: str
    created_at: datetime
