"""HTTP route of the audit log: search (HQ admin, finance); there is no route that changes a row."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from cloud.audit.schemas import AuditEntryOut, AuditPage
from cloud.audit.services import AuditQuery, search_audit
from cloud.deps import AuditRead, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
async def search(
    principal: AuditRead,
    session: SessionDep,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """The tenant's audit rows matching the filters, newest first (`from` inclusive, `to` exclusive)."""
    query = AuditQuery(entity, entity_id, actor, action, since, until, before_id, limit)
    rows = await search_audit(session, principal.tenant_id, query)
    return AuditPage(
        items=[AuditEntryOut.model_validate(r) for r in rows],
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )
