"""Request and response models of the tenancy API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    """POST /api/v1/stores; opening_hours like {"mon": ["10:00-02:00"], ...} (absent: open 24 h)."""

    region_id: str
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Asia/Shanghai"
    early_grace_s: int | None = None
    city: str = ""
    area: str = ""
    opening_hours: dict[str, Any] | None = None
    closed_dates: list[str] | None = None


class StoreUpdate(BaseModel):
    """PATCH /api/v1/stores/{store_id}: fields to change (opening_hours null: open around the clock)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    early_grace_s: int | None = None
    city: str | None = None
    area: str | None = None
    opening_hours: dict[str, Any] | None = None
    closed_dates: list[str] | None = None


class StoreOut(BaseModel):
    """A store."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    region_id: str
    name: str
    timezone: str
    early_grace_s: int
    feed_cursor: int
    city: str
    area: str
    opening_hours: dict[str, Any] | None
    closed_dates: list[str]
    created_at: datetime


class KeyVersionsOut(BaseModel):
    """The store key versions held after a rotation."""

    store_id: str
    key_versions: list[int]


class RoomCodeOut(BaseModel):
    """A room's printed QR: sealed with the store's newest key (protos/README.md, "The room QR")."""

    room_id: str
    name: str
    code: str
    key_version: int


class RoomCreate(BaseModel):
    """POST /api/v1/rooms; price_plan as cloud.pricing.model.parse_plan reads it (money in fen)."""

    store_id: str
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=40)
    room_type: str | None = Field(default=None, max_length=40)
    capacity_min: int = 1
    capacity_max: int | None = None
    facilities: list[str] = Field(default_factory=list)
    price_plan: dict[str, Any] | None = None
    zone: str = Field(default="", max_length=40)


class RoomUpdate(BaseModel):
    """PATCH /api/v1/rooms/{room_id}: fields to change (null capacity_max / price_plan: drop it)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    room_type: str | None = Field(default=None, max_length=40)
    capacity_min: int | None = None
    capacity_max: int | None = None
    facilities: list[str] | None = None
    price_plan: dict[str, Any] | None = None
    zone: str | None = Field(default=None, max_length=40)  # "": no zone


class RoomOut(BaseModel):
    """A room."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    name: str
    kind: str
    room_type: str
    capacity_min: int
    capacity_max: int | None
    facilities: list[str]
    price_plan: dict[str, Any] | None
    zone: str
    created_at: datetime
