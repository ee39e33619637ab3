"""Request and response models of the devices API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DeviceCreate(BaseModel):
    """POST /api/v1/devices: in a room (room_id) or store-wide (store_id only); id optional."""

    id: str | None = Field(default=None, max_length=64)
    room_id: str | None = None
    store_id: str | None = None
    kind: str = Field(min_length=1, max_length=40)
    protocol: str = Field(min_length=1, max_length=40)
    config: dict[str, str] = Field(default_factory=dict)
    zone: str = Field(default="", max_length=40)


class DeviceUpdate(BaseModel):
    """PATCH /api/v1/devices/{device_id}: fields to change (absent: keep; room_id null: store-wide).

    `config` replaces the whole config (the protocol address and settings).
    """

    room_id: str | None = None
    kind: str | None = Field(default=None, min_length=1, max_length=40)
    protocol: str | None = Field(default=None, min_length=1, max_length=40)
    config: dict[str, str] | None = None
    zone: str | None = Field(default=None, max_length=40)  # "": no zone


class DeviceOut(BaseModel):
    """A device."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    room_id: str | None
    kind: str
    protocol: str
    config: dict[str, str]
    zone: str
    created_at: datetime
