"""HTTP routes of service calls: the calls of a store, for HQ and the store's managers and staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloud.auth.model import Action, Principal
from cloud.deps import SessionDep, require
from cloud.servicecalls import services
from cloud.servicecalls.schemas import ServiceCallOut

router = APIRouter(prefix="/api/v1", tags=["service calls"])

ServiceCallsRead = Annotated[Principal, Depends(require(Action.SERVICE_CALLS_READ))]


@router.get("/service-calls")
async def list_service_calls(
    principal: ServiceCallsRead,
    session: SessionDep,
    store_id: Annotated[str, Query(min_length=1, max_length=40)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ServiceCallOut]:
    """The store's calls from its rooms' QR codes, newest first (404 outside the caller's reach)."""
    rows = await services.list_calls(session, principal, store_id, limit=limit)
    await session.commit()
    return [ServiceCallOut.model_validate(r) for r in rows]
