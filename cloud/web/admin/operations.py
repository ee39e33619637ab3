"""Admin pages that watch the chain: booking timelines, device health, fault work orders, the audit log."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import AuditQuery, search_audit
from cloud.auth.model import Action, Scope, can, in_reach
from cloud.booking import services as booking_services
from cloud.booking.availability import store_day
from cloud.booking.model import STATE_PRIORITY, Segment, SlotState
from cloud.deps import ClockDep, SessionDep, UowDep
from cloud.errors import DomainError, Invalid, NotFound
from cloud.faults import services as fault_services
from cloud.faults.model import Severity, WorkOrderState
from cloud.faults.tables import WorkOrder
from cloud.problems import status_for
from cloud.reports import health
from cloud.tenancy import services as tenancy
from cloud.web.admin.tables import TableView, cell
from cloud.web.admin.web import AdminRoute, AdminUser, local, need, render
from cloud.web.common import WebUser

router = APIRouter(route_class=AdminRoute)

AUDIT_PAGE = 50
RANK = {state: i for i, state in enumerate(STATE_PRIORITY)}


# ---- booking timeline ----


def hour_state(segments: list[Segment], start: datetime, end: datetime) -> tuple[SlotState, list[str]]:
    """What an hour of a room mostly is (ties: the higher-priority state), and the bookings in it."""
    minutes: Counter[SlotState] = Counter()
    refs: list[str] = []
    for seg in segments:
        lo, hi = max(seg.start, start), min(seg.end, end)
        if hi <= lo:
            continue
        minutes[seg.state] += int((hi - lo).total_seconds() // 60)
        if seg.ref and seg.ref not in refs and seg.state in (SlotState.BOOKED, SlotState.HELD):
            refs.append(seg.ref)
    if not minutes:
        return SlotState.FREE, refs
    return min(minutes, key=lambda s: (-minutes[s], RANK.get(s, len(RANK)))), refs


@router.get("/timeline")
async def timeline(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    clock: ClockDep,
    store_id: str | None = None,
    day: date | None = None,
) -> Response:
    """A store's day, rooms by hours: free, held, booked, blocked, cleaning, maintenance, closed."""
    need(user, Action.BOOKINGS_READ)
    stores = await tenancy.list_stores(session, user.principal)
    store = (
        await tenancy.get_store(session, user.principal, store_id)
        if store_id
        else (stores[0] if stores else None)
    )
    if store is None:
        return render(request, user, "timeline.html", stores=[], store=None)
    tz = ZoneInfo(store.timezone)
    day = day or clock.now().astimezone(tz).date()
    view = await store_day(session, clock, user.principal, store.id, day)
    grid = TableView("grid", ("room", *(f"{h:02d}" for h in range(24))))
    segments = TableView("segments", ("room", "state", "from", "to", "booking", "title"))
    for room_day in view.rooms:
        cells = []
        for hour in range(24):
            lo = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
            hi = datetime.combine(day, time(0), tzinfo=tz) + timedelta(hours=hour + 1)
            state, refs = hour_state(room_day.segments, lo, hi.astimezone(UTC))
            cells.append(
                cell(
                    state.value,
                    href=f"/admin/bookings/{refs[0]}" if refs else None,
                    css=f"slot-{state.value}",
                )
            )
        grid.add(cell(room_day.room.name, href=f"/admin/rooms/{room_day.room.id}"), *cells)
        for seg in room_day.segments:
            if seg.state is SlotState.FREE:
                continue
            segments.add(
                room_day.room.name,
                cell(seg.state.value, css=f"slot-{seg.state.value}"),
                local(seg.start, tz, "%H:%M"),
                local(seg.end, tz, "%H:%M") if seg.end < view.span.end else "24:00",
                seg.ref or "",
                seg.title or "",
            )
    return render(
        request,
        user,
        "timeline.html",
        tables=[grid, segments],
        stores=stores,
        store=store,
        day=day,
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        states=[s.value for s in SlotState],
    )


# ---- device health ----


def _health_table(rows: list[health.DeviceHealth]) -> TableView:
    table = TableView(
        "health",
        ("store", "room", "device", "kind", "status", "last state", "last report (UTC)", "edge", "alarms"),
    )
    for r in rows:
        table.add(
            cell(r.store.name, href=f"/admin/devices?store_id={r.store.id}"),
            r.room_name or "(store-wide)",
            r.device.id,
            r.device.kind,
            cell(r.status, css=r.status),
            r.state,
            r.reported_at,
            cell(
                "linked" if r.edge_connected else "offline", css="online" if r.edge_connected else "offline"
            ),
            cell(
                "; ".join(f"{a.code}: {a.message}" for a in r.alarms),
                href=f"/admin/faults?store_id={r.store.id}" if r.alarms else None,
                css="critical" if r.alarms else None,
            ),
        )
    return table


async def _health(session: AsyncSession, user: WebUser, store_id: str | None) -> TableView:
    return _health_table(await health.device_health(session, user.principal, store_id or None))


@router.get("/health")
async def health_page(
    request: Request, user: AdminUser, session: SessionDep, store_id: str | None = None
) -> Response:
    """Every device of the user's stores: offline and alarmed first, refreshed live."""
    need(user, Action.DEVICES_READ)
    stores = await tenancy.list_stores(session, user.principal)
    table = await _health(session, user, store_id)
    return render(request, user, "health.html", tables=[table], stores=stores, store_id=store_id or "")


@router.get("/fragments/health")
async def health_fragment(
    request: Request, user: AdminUser, session: SessionDep, store_id: str | None = None
) -> Response:
    """The device health table alone (htmx polls it)."""
    need(user, Action.DEVICES_READ)
    table = await _health(session, user, store_id)
    return render(request, user, "_health.html", tables=[table], store_id=store_id or "")


# ---- fault work orders ----


async def _orders_view(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    *,
    state: str | None,
    store_id: str | None,
    severity: str | None,
    error: DomainError | None = None,
    assign: dict[str, str] | None = None,
) -> Response:
    try:
        wanted_state = WorkOrderState(state) if state else None
    except ValueError as err:
        raise Invalid("unknown work order state", code="invalid_state", field="state") from err
    orders = await fault_services.list_work_orders(
        session,
        user.principal,
        state=wanted_state,
        store_id=store_id or None,
        severity=severity or None,
        limit=500,
    )
    orders = [
        o for o in orders if in_reach(user.principal, o.tenant_id, store_id=o.store_id, region_id=o.region_id)
    ]
    stores = await tenancy.list_stores(session, user.principal)
    names = {s.id: s for s in stores}
    table = TableView(
        "work_orders",
        (
            "id",
            "store",
            "raised (UTC)",
            "severity",
            "code",
            "message",
            "device",
            "state",
            "routed to",
            "assignee",
        ),
    )
    for o in orders:
        table.add(
            o.id,
            names[o.store_id].name if o.store_id in names else o.store_id,
            o.raised_at,
            cell(o.severity, css=o.severity),
            o.code,
            o.message,
            o.device_id or "",
            cell(o.state, css=o.state),
            o.assignee_role,
            o.assignee or "",
        )
    assignable = [o for o in orders if o.state in (WorkOrderState.OPEN.value, WorkOrderState.ASSIGNED.value)]
    return render(
        request,
        user,
        "faults.html",
        status_code=status_for(error) if error else 200,
        tables=[table],
        stores=stores,
        store_id=store_id or "",
        state=state or "",
        severity=severity or "",
        states=[s.value for s in WorkOrderState],
        severities=[s.value for s in Severity],
        assignable=assignable,
        error=error,
        assign=assign or {},
    )


@router.get("/faults")
async def faults_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    state: str | None = None,
    store_id: str | None = None,
    severity: str | None = None,
) -> Response:
    """Fault work orders in the user's reach, newest first, filtered by state, store and severity."""
    need(user, Action.FAULTS_READ)
    return await _orders_view(request, user, session, state=state, store_id=store_id, severity=severity)


async def _order_in_reach(session: AsyncSession, user: WebUser, order_id: str, action: Action) -> WorkOrder:
    order = await fault_services.get_work_order(session, user.principal, order_id)
    if not can(
        user.principal, action, Scope(order.tenant_id, region_id=order.region_id, store_id=order.store_id)
    ):
        raise NotFound(f"no work order {order_id}", code="work_order_not_found", field="work_order_id")
    return order


@router.post("/faults/assign")
async def assign_order(
    request: Request, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Assign (or hand over) a work order; the form keeps its values on a refusal."""
    need(user, Action.FAULTS_WRITE)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    order_id, assignee = form.get("work_order_id", ""), form.get("assignee", "").strip()
    try:
        await _order_in_reach(session, user, order_id, Action.FAULTS_WRITE)
        if not assignee:
            raise Invalid("say who takes the work order", code="missing_assignee", field="assignee")
        await fault_services.assign(uow, clock, user.principal, order_id, assignee)
    except DomainError as err:
        await uow.rollback()
        return await _orders_view(
            request, user, session, state=None, store_id=None, severity=None, error=err, assign=form
        )
    return RedirectResponse(f"/admin/faults?assigned={order_id}", status_code=303)


# ---- audit log ----


def _day_start(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError as err:
        raise Invalid(f"{field} must be a date (YYYY-MM-DD)", code="invalid_date", field=field) from err


@router.get("/audit")
async def audit_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before_id: int | None = None,
) -> Response:
    """The audit log, newest first, filtered; `until` is the last day included (UTC)."""
    need(user, Action.AUDIT_READ)
    end = _day_start(until, "until")
    query = AuditQuery(
        entity or None,
        entity_id or None,
        actor or None,
        action or None,
        _day_start(since, "since"),
        end + timedelta(days=1) if end else None,
        before_id,
        AUDIT_PAGE,
    )
    rows = await search_audit(session, user.principal.tenant_id, query)
    table = TableView(
        "audit", ("id", "at (UTC)", "actor", "action", "entity", "entity id", "before", "after")
    )
    for r in rows:
        table.add(
            r.id,
            r.at,
            r.actor,
            r.action,
            r.entity,
            r.entity_id,
            json.dumps(r.before, ensure_ascii=False, sort_keys=True) if r.before is not None else "",
            json.dumps(r.after, ensure_ascii=False, sort_keys=True) if r.after is not None else "",
        )
    params = {k: v for k, v in request.query_params.items() if k not in ("before_id", "csv")}
    older = urlencode({**params, "before_id": str(rows[-1].id)}) if len(rows) == AUDIT_PAGE else None
    return render(
        request,
        user,
        "audit.html",
        tables=[table],
        filters={
            "entity": entity or "",
            "entity_id": entity_id or "",
            "actor": actor or "",
            "action": action or "",
            "since": since or "",
            "until": until or "",
        },
        older=older,
        newest=urlencode(params) if before_id is not None else None,
    )


@router.get("/bookings/{ref}")
async def booking_page(request: Request, ref: str, user: AdminUser, session: SessionDep) -> Response:
    """One booking as the timeline links it: when, where, status and money."""
    need(user, Action.BOOKINGS_READ)
    booking = await booking_services.get_booking(session, user.principal, ref)
    room, store = await tenancy.get_room(session, user.principal, booking.room_id)
    tz = ZoneInfo(store.timezone)
    table = TableView("booking", ("field", "value"))
    for name, value in (
        ("ref", booking.ref),
        ("order no", booking.order_no),
        ("store", store.name),
        ("room", room.name),
        ("starts", local(booking.starts_at, tz)),
        ("ends", local(booking.ends_at, tz)),
        ("status", booking.status),
        ("source", booking.source),
        ("customer", booking.customer_name),
        ("phone (last 4)", booking.phone_last4),
        ("party size", booking.party_size),
        ("price (fen)", booking.price_total),
        ("paid (fen)", booking.amount_paid),
        ("refunded (fen)", booking.refund_amount or 0),
    ):
        table.add(name, value)
    return render(
        request,
        user,
        "booking.html",
        tables=[table],
        booking=booking,
        store=store,
        day=booking.starts_at.astimezone(tz).date(),
    )
