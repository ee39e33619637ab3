"""The admin app's home dashboard (live tiles) and the reports page (periods, stores, charts, CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Action
from cloud.clock import Clock
from cloud.deps import ClockDep, SessionDep
from cloud.faults import services as fault_services
from cloud.faults.model import WorkOrderState
from cloud.reports import health
from cloud.reports.model import Figures, Period, parse_period
from cloud.reports.services import Report, ReportQuery, build_report, stores_in_reach
from cloud.web.admin import charts
from cloud.web.admin.tables import TableView, cell
from cloud.web.admin.web import AdminRoute, AdminUser, may, need, render
from cloud.web.common import WebUser

router = APIRouter(route_class=AdminRoute)

CHART_DAYS = 14


@dataclass(frozen=True, slots=True)
class StoreCard:
    """A store's tile on the dashboard: today's figures and whether its edge is linked."""

    id: str
    name: str
    figures: Figures
    edge: bool


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def _tiles(session: AsyncSession, clock: Clock, user: WebUser) -> dict[str, Any]:
    """Today's figures, open faults and offline devices of the user's stores."""
    principal = user.principal
    today = await build_report(session, clock, principal, ReportQuery(Period.DAY, 1))
    context: dict[str, Any] = {
        "today": today.buckets[-1].label,
        "today_total": today.total[-1],
        "open_faults": None,
        "alarms": None,
        "offline_devices": None,
        "devices": None,
    }
    links: dict[str, bool] = {}
    if may(user, Action.FAULTS_READ):
        orders = await fault_services.list_work_orders(session, principal, limit=1000)
        open_orders = [o for o in orders if o.state != WorkOrderState.RESOLVED.value]
        context["open_faults"] = len(open_orders)
        context["alarms"] = sum(1 for o in open_orders if health.is_alarm(o))
    if may(user, Action.DEVICES_READ):
        rows = await health.device_health(session, principal)
        context["offline_devices"] = sum(1 for r in rows if r.online is False)
        context["devices"] = len(rows)
        links = await health.edge_links(session, [s.id for s in today.stores])
    await session.commit()
    context["cards"] = [
        StoreCard(s.id, s.name, today.per_store[s.id][-1], links.get(s.id, False)) for s in today.stores
    ]
    return context


@router.get("/")
async def home(request: Request, user: AdminUser, session: SessionDep, clock: ClockDep) -> Response:
    """Today's occupancy, revenue, redemption, faults and devices; the last two weeks in charts."""
    need(user, Action.REPORTS_READ)
    context = await _tiles(session, clock, user)
    recent = await build_report(session, clock, user.principal, ReportQuery(Period.DAY, CHART_DAYS))
    labels = [b.label[5:] for b in recent.buckets]
    stores = TableView(
        "stores", ("store", "occupancy today", "revenue today", "bookings today", "redeemed", "due")
    )
    for card in context["cards"]:
        f = card.figures
        stores.add(
            cell(card.name, href=f"/admin/stores/{card.id}"),
            _pct(f.occupancy),
            f.revenue,
            f.bookings,
            f.redeemed,
            f.due,
        )
    return render(
        request,
        user,
        "dashboard.html",
        tables=[stores],
        days=CHART_DAYS,
        revenue_chart=charts.bar_chart(
            f"Revenue, last {CHART_DAYS} days", labels, [f.revenue for f in recent.total], charts.yuan
        ),
        occupancy_chart=charts.line_chart(
            f"Occupancy, last {CHART_DAYS} days",
            labels,
            [f.occupancy for f in recent.total],
            charts.percent,
            top=1.0,
        ),
        **context,
    )


@router.get("/fragments/tiles")
async def tiles(request: Request, user: AdminUser, session: SessionDep, clock: ClockDep) -> Response:
    """The dashboard's tiles alone (htmx polls them)."""
    need(user, Action.REPORTS_READ)
    return render(request, user, "_tiles.html", **await _tiles(session, clock, user))


def _series_table(report: Report) -> TableView:
    table = TableView(
        "series",
        (
            "period",
            "first day",
            "occupancy",
            "booked room-min",
            "open room-min",
            "revenue (fen)",
            "bookings",
            "redeemed",
            "due",
            "redemption rate",
        ),
    )
    for f in report.total:
        table.add(
            f.label,
            f.first,
            _pct(f.occupancy),
            f.booked_min,
            f.open_min,
            f.revenue,
            f.bookings,
            f.redeemed,
            f.due,
            _pct(f.redemption_rate),
        )
    return table


def _ranking_table(report: Report) -> TableView:
    table = TableView(
        "ranking", ("rank", "store", "revenue (fen)", "occupancy", "bookings", "redemption rate")
    )
    for r in report.ranking:
        f = r.figures
        table.add(
            r.rank,
            cell(r.name, href=f"/admin/reports?store_id={r.store_id}&period={report.period.value}"),
            f.revenue,
            _pct(f.occupancy),
            f.bookings,
            _pct(f.redemption_rate),
        )
    return table


@router.get("/reports")
async def reports(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    clock: ClockDep,
    period: str = "day",
    store_id: str | None = None,
    until: date | None = None,
    count: int | None = None,
) -> Response:
    """Occupancy, revenue, redemption rate and peak hours per day, week or month; store ranking."""
    need(user, Action.REPORTS_READ)
    chosen = parse_period(period)
    stores = await stores_in_reach(session, user.principal, None)
    report = await build_report(
        session, clock, user.principal, ReportQuery(chosen, count, until, store_id or None)
    )
    ranking = await build_report(session, clock, user.principal, ReportQuery(chosen, count, until, None))
    labels = [b.label for b in report.buckets]
    peak = TableView("peak_hours", ("hour", "booked room-minutes"))
    for hour, minutes in enumerate(report.peak_hours):
        peak.add(f"{hour:02d}:00", minutes)
    return render(
        request,
        user,
        "reports.html",
        tables=[_series_table(report), _ranking_table(ranking), peak],
        stores=stores,
        store_id=store_id or "",
        period=chosen.value,
        periods=[p.value for p in Period],
        until=until.isoformat() if until else "",
        count=count or "",
        charts=[
            charts.bar_chart("Revenue", labels, [f.revenue for f in report.total], charts.yuan),
            charts.line_chart(
                "Occupancy", labels, [f.occupancy for f in report.total], charts.percent, top=1.0
            ),
            charts.line_chart(
                "Redemption rate", labels, [f.redemption_rate for f in report.total], charts.percent, top=1.0
            ),
            charts.bar_chart(
                "Peak hours (booked room-minutes)", [f"{h:02d}" for h in range(24)], report.peak_hours
            ),
        ],
    )
