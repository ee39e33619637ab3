"""Pricing services: a tenant's holiday calendar, a room's plan, quotes of a room's time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.errors import Invalid
from cloud.pricing import model
from cloud.pricing.model import Calendar, CalendarDayKind, PricePlan, Quote
from cloud.pricing.tables import CalendarDay
from cloud.tenancy.model import clean_name
from cloud.tenancy.tables import Room
from cloud.uow import UnitOfWork

MAX_CALENDAR_DAYS = 2000


@dataclass(frozen=True, slots=True)
class DayEntry:
    """One calendar entry: a public holiday or a make-up working day."""

    day: date
    kind: CalendarDayKind
    name: str


# Built once: every quote reads the calendar.
_CALENDAR = select(CalendarDay.day, CalendarDay.kind).where(
    CalendarDay.tenant_id == bindparam("tenant_id"),
    CalendarDay.day >= bindparam("first", type_=Date()),
    CalendarDay.day <= bindparam("last", type_=Date()),
)


def room_plan(room: Room) -> PricePlan:
    """The room's price plan (a room without one is free)."""
    return model.parse_plan(room.price_plan) if room.price_plan is not None else model.FREE_PLAN


async def load_calendar(session: AsyncSession, tenant_id: str, start: datetime, end: datetime) -> Calendar:
    """The tenant's calendar around [start, end) (a day either side covers any time zone)."""
    first, last = start.date() - timedelta(days=1), end.date() + timedelta(days=1)
    rows = await session.execute(_CALENDAR, {"tenant_id": tenant_id, "first": first, "last": last})
    holidays: set[date] = set()
    workdays: set[date] = set()
    for day, kind in rows:
        (holidays if kind == CalendarDayKind.HOLIDAY.value else workdays).add(day)
    return Calendar(frozenset(holidays), frozenset(workdays))


async def quote_room(
    session: AsyncSession, tenant_id: str, room: Room, tz: ZoneInfo, starts_at: datetime, ends_at: datetime
) -> Quote:
    """The price of a room's time with its breakdown."""
    calendar = await load_calendar(session, tenant_id, starts_at, ends_at)
    return model.quote(room_plan(room), calendar, tz, starts_at, ends_at)


async def list_calendar(session: AsyncSession, principal: Principal) -> list[DayEntry]:
    """The tenant's calendar, by day."""
    rows = await session.scalars(
        select(CalendarDay).where(CalendarDay.tenant_id == principal.tenant_id).order_by(CalendarDay.day)
    )
    return [DayEntry(r.day, CalendarDayKind(r.kind), r.name) for r in rows]


async def replace_calendar(
    uow: UnitOfWork, clock: Clock, principal: Principal, entries: Sequence[DayEntry]
) -> list[DayEntry]:
    """Replace the tenant's whole calendar (each day at most once)."""
    if len(entries) > MAX_CALENDAR_DAYS:
        raise Invalid(f"at most {MAX_CALENDAR_DAYS} days", code="invalid_calendar", field="days")
    seen: set[date] = set()
    cleaned: list[DayEntry] = []
    for i, entry in enumerate(entries):
        if entry.day in seen:
            raise Invalid(f"{entry.day} is listed twice", code="invalid_calendar", field=f"days[{i}].day")
        seen.add(entry.day)
        name = clean_name(entry.name, f"days[{i}].name") if entry.name.strip() else ""
        cleaned.append(DayEntry(entry.day, entry.kind, name))
    session = uow.session
    before = [(e.day.isoformat(), e.kind.value) for e in await list_calendar(session, principal)]
    await session.execute(delete(CalendarDay).where(CalendarDay.tenant_id == principal.tenant_id))
    for entry in cleaned:
        session.add(
            CalendarDay(tenant_id=principal.tenant_id, day=entry.day, kind=entry.kind.value, name=entry.name)
        )
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="calendar.replace",
        entity="calendar",
        entity_id=principal.tenant_id,
        before={"days": before},
        after={"days": [(e.day.isoformat(), e.kind.value) for e in cleaned]},
    )
    await uow.commit()
    return sorted(cleaned, key=lambda e: e.day)
