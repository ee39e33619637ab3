"""Writing the audit log (inside the caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of an audit search (None: any); `before_id` pages back from an earlier page's last row."""

    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before_id: int | None = None
    limit: int = 100


async def search_audit(session: AsyncSession, tenant_id: str, query: AuditQuery) -> list[AuditEntry]:
    """A tenant's audit rows matching query, newest first (keyset-paginated by id)."""
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    for column, value in (
        (AuditEntry.entity, query.entity),
        (AuditEntry.entity_id, query.entity_id),
        (AuditEntry.actor, query.actor),
        (AuditEntry.action, query.action),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.since is not None:
        stmt = stmt.where(AuditEntry.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEntry.at < query.until)
    if query.before_id is not None:
        stmt = stmt.where(AuditEntry.id < query.before_id)
    return list(await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(query.limit)))
