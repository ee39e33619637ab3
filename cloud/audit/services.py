"""Writing the audit log (inside the caller's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.tables import AuditEntry


def record_audit(
    session: AsyncSession,
    *,
    at: datetime,
    tenant_id: str | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit row to the session's transaction."""
    entry = AuditEntry(
        at=at,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


async def list_audit(session: AsyncSession, tenant_id: str, limit: int = 100) -> list[AuditEntry]:
    """A tenant's latest audit rows, newest first."""
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows)
