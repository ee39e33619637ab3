"""Response models of the service-call API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ServiceCallOut(BaseModel):
    """A customer's call from a room: whether the store's edge received it and staff answered it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    room_id: str
    room_name: str
    reason: str
    note: str
    status: str
    code: str | None
    command_id: str | None
    created_at: datetime
    delivered_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
