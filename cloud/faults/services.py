"""Fault work orders: opened from edge fault events, assigned, started, resolved; the edge hears of it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.audit.services import record_audit
from cloud.auth.model import Principal, in_reach
from cloud.auth.scoping import store_filter
from cloud.clock import Clock
from cloud.edgelink.commands import LinkRegistry, run_command
from cloud.edgelink.model import EdgeOffline, EdgeTimeout
from cloud.errors import NotFound
from cloud.faults.model import (
    ENTRY_OF_ACTION,
    Action,
    EdgeSync,
    EntryKind,
    FaultReport,
    WorkOrderState,
    check_action,
    clean_note,
    route,
)
from cloud.faults.tables import WorkOrder, WorkOrderEntry
from cloud.ids import new_id
from cloud.tenancy.services import get_store
from cloud.tenancy.tables import Store
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)

RESOLVE_COMMAND = "resolve_fault"
RESOLVE_TIMEOUT_S = 10.0
SYSTEM_ACTOR = "system:faults"


def add_entry(
    session: AsyncSession,
    order: WorkOrder,
    *,
    at: datetime,
    actor: str,
    kind: EntryKind,
    text: str = "",
    from_state: str | None = None,
    to_state: str | None = None,
) -> WorkOrderEntry:
    """Add a line to the work order's log (inside the caller's transaction)."""
    entry = WorkOrderEntry(
        id=new_id("woe", 12),
        work_order_id=order.id,
        tenant_id=order.tenant_id,
        at=at,
        actor=actor,
        kind=kind.value,
        from_state=from_state,
        to_state=to_state,
        text=text,
    )
    session.add(entry)
    return entry


def work_order_view(order: WorkOrder) -> dict[str, Any]:
    """The audit view of a work order."""
    return {
        "state": order.state,
        "assignee": order.assignee,
        "assignee_role": order.assignee_role,
        "severity": order.severity,
        "code": order.code,
        "room_id": order.room_id,
        "resolution": order.resolution,
        "edge_sync": order.edge_sync,
    }


async def open_from_fault(
    session: AsyncSession,
    clock: Clock,
    *,
    edge_id: str,
    store_id: str,
    seq: int,
    occurred_at: datetime,
    report: FaultReport,
) -> WorkOrder | None:
    """Open the work order of a fault event, routed by the store's region and the severity.

    Runs inside the caller's transaction (event ingestion); a fault already known is left as it is.
    Returns None when the store is unknown.
    """
    existing = await session.scalar(
        select(WorkOrder).where(WorkOrder.store_id == store_id, WorkOrder.fault_id == report.fault_id)
    )
    if existing is not None:
        return existing
    store = await session.get(Store, store_id)
    if store is None:
        logger.warning("fault of an unknown store", extra={"store_id": store_id, "edge_id": edge_id})
        return None
    routed = route(report.severity)
    now = clock.now()
    order = WorkOrder(
        id=new_id("wo"),
        tenant_id=store.tenant_id,
        region_id=store.region_id,
        store_id=store.id,
        edge_id=edge_id,
        event_seq=seq,
        fault_id=report.fault_id,
        device_id=report.device_id,
        device_kind=report.device_kind,
        room_id=report.room_id,
        code=report.code,
        severity=report.severity.value,
        message=report.message,
        state=WorkOrderState.OPEN.value,
        assignee_role=routed.assignee_role.value,
        hq_alert=routed.hq_alert,
        assignee=None,
        resolution=None,
        raised_at=occurred_at,
        created_at=now,
        updated_at=now,
        assigned_at=None,
        started_at=None,
        resolved_at=None,
        edge_sync=None,
        edge_sync_code=None,
        edge_synced_at=None,
    )
    session.add(order)
    await session.flush()  # the log line refers to the order
    add_entry(
        session,
        order,
        at=now,
        actor=f"edge:{edge_id}",
        kind=EntryKind.OPEN,
        text=report.message,
        to_state=order.state,
    )
    record_audit(
        session,
        at=now,
        tenant_id=store.tenant_id,
        actor=f"edge:{edge_id}",
        action="work_order.open",
        entity="work_order",
        entity_id=order.id,
        after=work_order_view(order),
    )
    await session.flush()
    logger.info(
        "work order opened",
        extra={
            "work_order_id": order.id,
            "store_id": store_id,
            "region_id": store.region_id,
            "severity": order.severity,
            "assignee_role": order.assignee_role,
            "hq_alert": order.hq_alert,
        },
    )
    return order


async def list_work_orders(
    session: AsyncSession,
    principal: Principal,
    *,
    state: WorkOrderState | None = None,
    store_id: str | None = None,
    region_id: str | None = None,
    assignee_role: str | None = None,
    severity: str | None = None,
    limit: int = 100,
) -> list[WorkOrder]:
    """The work orders in the caller's reach (tenant, and its regions or stores), newest first, filtered."""
    query = select(WorkOrder).where(
        WorkOrder.tenant_id == principal.tenant_id, store_filter(principal, WorkOrder.store_id)
    )
    if state is not None:
        query = query.where(WorkOrder.state == state.value)
    if store_id is not None:
        query = query.where(WorkOrder.store_id == (await get_store(session, principal, store_id)).id)
    if region_id is not None:
        query = query.where(WorkOrder.region_id == region_id)
    if assignee_role is not None:
        query = query.where(WorkOrder.assignee_role == assignee_role)
    if severity is not None:
        query = query.where(WorkOrder.severity == severity)
    rows = await session.scalars(query.order_by(WorkOrder.created_at.desc(), WorkOrder.id).limit(limit))
    return list(rows)


async def get_work_order(session: AsyncSession, principal: Principal, order_id: str) -> WorkOrder:
    """The caller's work order (NotFound for another tenant's)."""
    order = await session.get(WorkOrder, order_id)
    if order is None or order.tenant_id != principal.tenant_id:
        raise NotFound(f"no work order {order_id}", code="work_order_not_found", field="work_order_id")
    return order


async def get_reachable(session: AsyncSession, principal: Principal, order_id: str) -> WorkOrder:
    """The work order, if it lies in the caller's tenant and region or stores (NotFound otherwise)."""
    order = await get_work_order(session, principal, order_id)
    if not in_reach(principal, order.tenant_id, store_id=order.store_id, region_id=order.region_id):
        raise NotFound(f"no work order {order_id}", code="work_order_not_found", field="work_order_id")
    return order


async def _act(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    order_id: str,
    action: Action,
    note: str = "",
    **changes: Any,
) -> WorkOrder:
    session = uow.session
    order = await get_reachable(session, principal, order_id)
    target = check_action(WorkOrderState(order.state), action)
    before = work_order_view(order)
    now = clock.now()
    order.state = target.value
    order.updated_at = now
    for key, value in changes.items():
        setattr(order, key, value)
    if action is Action.ASSIGN:
        order.assigned_at = now
    elif action is Action.START:
        order.started_at = now
    elif action is Action.RESOLVE:
        order.resolved_at = now
        order.edge_sync = EdgeSync.PENDING.value
    add_entry(
        session,
        order,
        at=now,
        actor=principal.actor,
        kind=ENTRY_OF_ACTION[action],
        text=note,
        from_state=before["state"],
        to_state=order.state,
    )
    record_audit(
        session,
        at=now,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action=f"work_order.{action.value}",
        entity="work_order",
        entity_id=order.id,
        before=before,
        after=work_order_view(order),
    )
    await uow.commit()
    return order


async def assign(
    uow: UnitOfWork, clock: Clock, principal: Principal, order_id: str, assignee: str
) -> WorkOrder:
    """Give the work order to someone (again, to hand it over)."""
    return await _act(
        uow, clock, principal, order_id, Action.ASSIGN, note=f"assigned to {assignee}", assignee=assignee
    )


async def start(
    uow: UnitOfWork, clock: Clock, principal: Principal, order_id: str, note: str = ""
) -> WorkOrder:
    """The assignee has started on site."""
    return await _act(uow, clock, principal, order_id, Action.START, note=note)


async def resolve(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    registry: LinkRegistry,
    principal: Principal,
    order_id: str,
    resolution: str,
) -> WorkOrder:
    """Confirm the fix on site; then tell the edge, which returns the room to service.

    The resolution (some words on what was done) commits first; telling the edge is retried when
    it reconnects if it is offline now.
    """
    text = clean_note(resolution)
    async with sessionmaker() as session:
        order = await _act(
            UnitOfWork(session), clock, principal, order_id, Action.RESOLVE, note=text, resolution=text
        )
        order_id = order.id
    await deliver_resolution(sessionmaker, clock, registry, order_id)
    async with sessionmaker() as session:
        return await get_work_order(session, principal, order_id)


async def deliver_resolution(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, registry: LinkRegistry, order_id: str
) -> EdgeSync:
    """Send `resolve_fault` to the store's edge and record the outcome (pending while it is offline)."""
    async with sessionmaker() as session:
        order = await session.get(WorkOrder, order_id)
        if order is None or order.edge_sync != EdgeSync.PENDING.value:
            return EdgeSync(order.edge_sync) if order is not None and order.edge_sync else EdgeSync.DONE
        store_id, tenant_id = order.store_id, order.tenant_id
        args = {"room_id": order.room_id, "fault_id": order.fault_id}
        await session.commit()
    principal = Principal(tenant_id=tenant_id, actor=SYSTEM_ACTOR)
    try:
        outcome = await run_command(
            sessionmaker,
            clock,
            registry,
            principal,
            store_id=store_id,
            kind=RESOLVE_COMMAND,
            args=args,
            timeout_s=RESOLVE_TIMEOUT_S,
        )
    except (EdgeOffline, EdgeTimeout) as err:
        logger.info("resolution waits for the edge", extra={"work_order_id": order_id, "code": err.code})
        await _record_sync(sessionmaker, clock, order_id, EdgeSync.PENDING, err.code)
        return EdgeSync.PENDING
    sync = EdgeSync.DONE if outcome.ok else EdgeSync.FAILED
    await _record_sync(sessionmaker, clock, order_id, sync, outcome.code)
    logger.info(
        "resolution delivered", extra={"work_order_id": order_id, "ok": outcome.ok, "code": outcome.code}
    )
    return sync


async def _record_sync(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, order_id: str, sync: EdgeSync, code: str
) -> None:
    async with sessionmaker() as session:
        order = await session.get(WorkOrder, order_id)
        if order is None:
            return
        order.edge_sync, order.edge_sync_code = sync.value, code[:60]
        if sync is EdgeSync.DONE:
            order.edge_synced_at = clock.now()
        await session.commit()


async def redeliver_pending(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, registry: LinkRegistry, store_id: str
) -> int:
    """Send every resolution the store's edge has not confirmed (called when its stream opens)."""
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(WorkOrder.id)
                .where(WorkOrder.store_id == store_id, WorkOrder.edge_sync == EdgeSync.PENDING.value)
                .order_by(WorkOrder.resolved_at)
            )
        )
        await session.commit()
    for order_id in ids:
        await deliver_resolution(sessionmaker, clock, registry, order_id)
    return len(ids)
