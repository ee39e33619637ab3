"""Report queries: the stores in the caller's reach, their rooms and bookings, turned into figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Principal
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.reports import model
from cloud.reports.model import Bucket, Figures, Period, StoreFacts, StoreRank
from cloud.tenancy.model import parse_closed_dates, parse_opening_hours
from cloud.tenancy.services import get_store, list_stores
from cloud.tenancy.tables import Room, Store

FALLBACK_TZ = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Which report: bucket length, how many buckets, the last day included (None: today) and one store."""

    period: Period = Period.DAY
    count: int | None = None
    until: date | None = None
    store_id: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """Figures per bucket for the stores in reach (all summed, and each store's), peak hours and ranking."""

    period: Period
    buckets: list[Bucket]
    stores: list[StoreFacts]
    total: list[Figures]
    per_store: dict[str, list[Figures]]
    peak_hours: list[int]
    ranking: list[StoreRank]


async def stores_in_reach(session: AsyncSession, principal: Principal, store_id: str | None) -> list[Store]:
    """The caller's stores (or the one asked for, NotFound outside the caller's reach)."""
    if store_id:
        return [await get_store(session, principal, store_id)]
    return await list_stores(session, principal)


async def store_facts(session: AsyncSession, stores: list[Store]) -> list[StoreFacts]:
    """What the figures need of each store (its room count included)."""
    if not stores:
        return []
    counts: dict[str, int] = {
        sid: int(n)
        for sid, n in await session.execute(
            select(Room.store_id, func.count())
            .where(Room.store_id.in_([s.id for s in stores]))
            .group_by(Room.store_id)
        )
    }
    return [
        StoreFacts(
            id=s.id,
            name=s.name,
            tz=ZoneInfo(s.timezone),
            hours=parse_opening_hours(s.opening_hours),
            closed=parse_closed_dates(s.closed_dates),
            rooms=int(counts.get(s.id, 0)),
        )
        for s in stores
    ]


async def booking_facts(
    session: AsyncSession, store_ids: list[str], start: datetime, end: datetime
) -> list[model.BookingFact]:
    """The bookings of the stores that touch [start, end) (every status: the model picks)."""
    if not store_ids:
        return []
    rows = await session.execute(
        select(
            Booking.store_id,
            Booking.room_id,
            Booking.status,
            Booking.starts_at,
            Booking.ends_at,
            Booking.amount_paid,
            Booking.refund_amount,
        ).where(Booking.store_id.in_(store_ids), Booking.starts_at < end, Booking.ends_at > start)
    )
    return [
        model.BookingFact(store, room, status, starts, ends, paid or 0, refund or 0)
        for store, room, status, starts, ends, paid, refund in rows
    ]


def today_of(stores: list[StoreFacts], now: datetime) -> date:
    """Today in the (first) store's zone: the default last day of a report."""
    tz = stores[0].tz if stores else FALLBACK_TZ
    return now.astimezone(tz).date()


async def build_report(
    session: AsyncSession, clock: Clock, principal: Principal, query: ReportQuery
) -> Report:
    """The report of the caller's stores (or one of them): per bucket, peak hours and ranking."""
    count = query.count if query.count is not None else model.DEFAULT_COUNT[query.period.value]
    stores = await store_facts(session, await stores_in_reach(session, principal, query.store_id))
    now = clock.now()
    buckets = model.buckets_until(query.until or today_of(stores, now), query.period, count)
    first, end = buckets[0].first, buckets[-1].end
    spans = [model.local_span(first, end, s.tz) for s in stores]
    bookings: list[model.BookingFact] = []
    if spans:
        bookings = await booking_facts(
            session, [s.id for s in stores], min(a for a, _ in spans), max(b for _, b in spans)
        )
    await session.commit()  # end the read (on SQLite every transaction holds the write lock)
    per_store = {s.id: model.store_figures(s, bookings, buckets, now) for s in stores}
    return Report(
        period=query.period,
        buckets=buckets,
        stores=stores,
        total=model.total_figures(per_store.values(), buckets),
        per_store=per_store,
        peak_hours=model.peak_hours(stores, bookings, first, end),
        ranking=model.rank_stores(stores, per_store),
    )
