"""HTTP routes of fault work orders: list, show, assign, start, resolve (in the caller's reach)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cloud.auth.model import in_reach
from cloud.deps import ClockDep, ContextDep, FaultsRead, SessionDep, UowDep, WorkOrderRead, WorkOrderWrite
from cloud.faults import services
from cloud.faults.model import WorkOrderState
from cloud.faults.schemas import AssignIn, ResolveIn, WorkOrderOut

router = APIRouter(prefix="/api/v1", tags=["faults"])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/work-orders")
async def list_work_orders(
    principal: FaultsRead,
    session: SessionDep,
    state: WorkOrderState | None = None,
    store_id: str | None = None,
    region_id: str | None = None,
    assignee_role: str | None = None,
    severity: str | None = None,
    limit: Limit = 100,
) -> list[WorkOrderOut]:
    """The tenant's work orders, newest first (filter by state, store, region, role, severity)."""
    rows = await services.list_work_orders(
        session,
        principal,
        state=state,
        store_id=store_id,
        region_id=region_id,
        assignee_role=assignee_role,
        severity=severity,
        limit=limit,
    )
    # outside the caller's region/stores: dropped (the query itself is tenant-scoped)
    return [
        WorkOrderOut.model_validate(r)
        for r in rows
        if in_reach(principal, r.tenant_id, store_id=r.store_id, region_id=r.region_id)
    ]


@router.get("/work-orders/{order_id}")
async def get_work_order(order_id: str, principal: WorkOrderRead, session: SessionDep) -> WorkOrderOut:
    """One work order."""
    return WorkOrderOut.model_validate(await services.get_work_order(session, principal, order_id))


@router.post("/work-orders/{order_id}/assign")
async def assign(
    order_id: str, body: AssignIn, principal: WorkOrderWrite, uow: UowDep, clock: ClockDep
) -> WorkOrderOut:
    """Assign (or hand over) a work order."""
    order = await services.assign(uow, clock, principal, order_id, body.assignee)
    return WorkOrderOut.model_validate(order)


@router.post("/work-orders/{order_id}/start")
async def start(order_id: str, principal: WorkOrderWrite, uow: UowDep, clock: ClockDep) -> WorkOrderOut:
    """The assignee is on site and working on it."""
    return WorkOrderOut.model_validate(await services.start(uow, clock, principal, order_id))


@router.post("/work-orders/{order_id}/resolve")
async def resolve(
    order_id: str, body: ResolveIn, principal: WorkOrderWrite, clock: ClockDep, context: ContextDep
) -> WorkOrderOut:
    """Confirm the fix; the edge returns the room to service (edge_sync "pending" while it is offline)."""
    order = await services.resolve(
        context.sessionmaker, clock, context.registry, principal, order_id, body.resolution
    )
    return WorkOrderOut.model_validate(order)
