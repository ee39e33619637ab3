"""Response models of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    """One audit row: who did what to which entity, when, before and after."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    """A page of audit rows, newest first; pass `next_before_id` as `before_id` for the next page."""

    items: list[AuditEntryOut]
    next_before_id: int | None
