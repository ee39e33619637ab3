"""HTTP routes of pricing: the holiday calendar (quotes are served by booking)."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.deps import ChainSettingsWrite, ClockDep, SessionDep, SettingsRead, UowDep
from cloud.pricing import services
from cloud.pricing.schemas import CalendarDayIO, CalendarIO

router = APIRouter(prefix="/api/v1", tags=["pricing"])


def _out(entries: list[services.DayEntry]) -> CalendarIO:
    return CalendarIO(days=[CalendarDayIO(day=e.day, kind=e.kind, name=e.name) for e in entries])


@router.get("/calendar")
async def get_calendar(principal: SettingsRead, session: SessionDep) -> CalendarIO:
    """The tenant's public holidays and make-up working days."""
    return _out(await services.list_calendar(session, principal))


@router.put("/calendar")
async def put_calendar(
    body: CalendarIO, principal: ChainSettingsWrite, uow: UowDep, clock: ClockDep
) -> CalendarIO:
    """Replace the tenant's calendar."""
    entries = [services.DayEntry(d.day, d.kind, d.name) for d in body.days]
    return _out(await services.replace_calendar(uow, clock, principal, entries))
