"""HTTP routes of reports (thin: parse the period, build the report in the caller's reach, shape it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloud.auth.model import Action, Principal
from cloud.deps import ClockDep, SessionDep, require
from cloud.reports import model, services
from cloud.reports.schemas import PeakHoursOut, RankOut, SeriesOut

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

ReportsRead = Annotated[Principal, Depends(require(Action.REPORTS_READ))]
Count = Annotated[int | None, Query(ge=1, le=model.MAX_BUCKETS)]


def _query(period: str, count: int | None, until: date | None, store_id: str | None) -> services.ReportQuery:
    return services.ReportQuery(model.parse_period(period), count, until, store_id)


@router.get("/series")
async def series(
    principal: ReportsRead,
    session: SessionDep,
    clock: ClockDep,
    period: str = "day",
    count: Count = None,
    until: date | None = None,
    store_id: str | None = None,
) -> SeriesOut:
    """Occupancy, revenue and redemption per day, week or month, for the caller's stores (or one)."""
    report = await services.build_report(session, clock, principal, _query(period, count, until, store_id))
    return SeriesOut.of(report)


@router.get("/peak-hours")
async def peak_hours(
    principal: ReportsRead,
    session: SessionDep,
    clock: ClockDep,
    period: str = "day",
    count: Count = None,
    until: date | None = None,
    store_id: str | None = None,
) -> PeakHoursOut:
    """Booked room-minutes per local hour of the day over the report's days."""
    report = await services.build_report(session, clock, principal, _query(period, count, until, store_id))
    return PeakHoursOut(
        first_day=report.buckets[0].first, end_day=report.buckets[-1].end, minutes=report.peak_hours
    )


@router.get("/stores")
async def store_ranking(
    principal: ReportsRead,
    session: SessionDep,
    clock: ClockDep,
    period: str = "day",
    count: Count = None,
    until: date | None = None,
) -> list[RankOut]:
    """The caller's stores ranked by revenue (then occupancy) over the report's days."""
    report = await services.build_report(session, clock, principal, _query(period, count, until, None))
    return [RankOut.of(r) for r in report.ranking]
