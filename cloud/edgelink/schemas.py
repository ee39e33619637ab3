"""Request and response models of the edge-link API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EdgeCreated(BaseModel):
    """A new edge and its one-time bootstrap token (shown once)."""

    edge_id: str
    store_id: str
    bootstrap_token: str
    token_expires_at: datetime
    ca_pem: str
    grpc_target: str
    enroll_target: str


class EdgeOut(BaseModel):
    """An edge and its link state."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    created_at: datetime
    token_expires_at: datetime
    enrolled_at: datetime | None
    revoked_at: datetime | None
    cert_serial: str | None
    last_seen_at: datetime | None
    connected: bool
    software_version: str


class EventOut(BaseModel):
    """An ingested edge event."""

    model_config = ConfigDict(from_attributes=True)

    edge_id: str
    seq: int
    kind: str
    occurred_at: datetime
    received_at: datetime
    payload: dict[str, Any]
    outcome: str
    error: str | None


class RedemptionOut(BaseModel):
    """A redemption reported by an edge."""

    model_config = ConfigDict(from_attributes=True)

    booking_ref: str
    room_id: str
    edge_id: str
    event_seq: int
    at: datetime
    method: str
    known_to_edge: bool
    known_to_cloud: bool
    key_version: int | None
    device_id: str | None


class CommandIn(BaseModel):
    """POST /api/v1/stores/{store_id}/commands."""

    kind: str = Field(min_length=1, max_length=40)
    args: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = 10.0


class CommandOut(BaseModel):
    """A command's result as the edge answered it."""

    id: str
    status: str
    ok: bool
    code: str
    message: str
    result: dict[str, Any]
