"""Request and response models of the work-order API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class WorkOrderOut(BaseModel):
    """A fault work order."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    region_id: str
    edge_id: str
    fault_id: str
    device_id: str | None
    device_kind: str
    room_id: str | None
    code: str
    severity: str
    message: str
    state: str
    assignee_role: str
    hq_alert: bool
    assignee: str | None
    resolution: str | None
    raised_at: datetime
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    edge_sync: str | None
    edge_sync_code: str | None


class AssignIn(BaseModel):
    """POST /api/v1/work-orders/{id}/assign."""

    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=200)


class ResolveIn(BaseModel):
    """POST /api/v1/work-orders/{id}/resolve: what was done on site."""

    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(default="", max_length=2000)


class EntryOut(BaseModel):
    """A line of a work order's log: a transition or a note."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    work_order_id: str
    at: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    text: str


class PhotoOut(BaseModel):
    """A photo of a work order (its bytes at GET .../photos/{id})."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    work_order_id: str
    uploader: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class NoteIn(BaseModel):
    """POST /api/v1/work-orders/{id}/notes."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)


class OnSiteIn(BaseModel):
    """POST /api/v1/work-orders/{id}/on-site: the text of the room's printed QR."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=512)
