"""Availability: each room's timeline of a store's day, and the search for free rooms across stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Principal
from cloud.auth.scoping import store_filter
from cloud.booking import model, occupancy
from cloud.booking.model import BookingStatus, Occupation, Segment, TimeRange
from cloud.booking.services import venue_of
from cloud.booking.tables import BlockedSlot, Booking
from cloud.clock import Clock
from cloud.errors import Invalid
from cloud.pricing import model as pricing
from cloud.pricing.services import load_calendar, room_plan
from cloud.rules import levels
from cloud.rules.model import MAX_CLEANING_GAP_MIN, resolve
from cloud.tenancy.model import open_intervals, parse_closed_dates, parse_opening_hours
from cloud.tenancy.services import get_store
from cloud.tenancy.tables import Room, Store

MAX_RESULTS = 200


@dataclass(frozen=True, slots=True)
class RoomDay:
    """One room and its timeline."""

    room: Room
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class StoreDay:
    """A store's local day: its span (UTC) and every room's timeline."""

    store: Store
    day: date
    span: TimeRange
    rooms: list[RoomDay]


def local_day(day: date, tz: ZoneInfo) -> TimeRange:
    """The instants of a local calendar day."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return TimeRange(start.astimezone(UTC), end.astimezone(UTC))


async def store_day(
    session: AsyncSession, clock: Clock, principal: Principal, store_id: str, day: date
) -> StoreDay:
    """Every room's timeline of the store's local day (free, held, booked, cleaning, blocked, closed...)."""
    store = await get_store(session, principal, store_id)
    tz = ZoneInfo(store.timezone)
    span = local_day(day, tz)
    now = clock.now()
    rooms = list(await session.scalars(select(Room).where(Room.store_id == store.id).order_by(Room.name)))
    by_room: dict[str, list[Occupation]] = {room.id: [] for room in rooms}
    bookings = await session.execute(
        select(
            Booking.ref,
            Booking.room_id,
            Booking.status,
            Booking.starts_at,
            Booking.ends_at,
            Booking.occupied_until,
        ).where(
            Booking.store_id == store.id,
            Booking.status.in_([s.value for s in model.OCCUPYING]),
            occupancy.live(now),
            Booking.starts_at < span.end,
            Booking.occupied_until > span.start,
        )
    )
    for ref, room_id, status, start, end, until in bookings:
        by_room.setdefault(room_id, []).extend(
            model.booking_occupations(ref, BookingStatus(status), TimeRange(start, end), until)
        )
    blocks = await session.scalars(
        select(BlockedSlot).where(
            BlockedSlot.store_id == store.id,
            BlockedSlot.starts_at < span.end,
            BlockedSlot.ends_at > span.start,
        )
    )
    for block in blocks:
        by_room.setdefault(block.room_id, []).append(
            Occupation(
                model.block_state(block.kind),
                TimeRange(block.starts_at, block.ends_at),
                block.id,
                block.title,
            )
        )
    opening = open_intervals(
        parse_opening_hours(store.opening_hours),
        parse_closed_dates(store.closed_dates),
        tz,
        span.start,
        span.end,
    )
    closed = model.closed_occupations(span, opening)
    return StoreDay(
        store=store,
        day=day,
        span=span,
        rooms=[RoomDay(room, model.timeline(span, [*closed, *by_room[room.id]])) for room in rooms],
    )


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a customer looks for: a slot, and optionally where, what kind of room, how many, what price."""

    starts_at: datetime
    ends_at: datetime
    city: str | None = None
    area: str | None = None
    room_type: str | None = None
    kind: str | None = None
    party_size: int | None = None
    price_min_per_hour: int | None = None
    price_max_per_hour: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Offer:
    """A free room for the slot with its price and the deposit a hold asks for."""

    store: Store
    room: Room
    quote: pricing.Quote
    deposit: int


async def search(
    session: AsyncSession, clock: Clock, principal: Principal, query: SearchQuery
) -> list[Offer]:
    """The caller's rooms free for the slot under their rules, matching the filters, cheapest first."""
    window = model.check_window(query.starts_at, query.ends_at)
    if query.party_size is not None and query.party_size < 1:
        raise Invalid("party_size must be at least 1", code="invalid_party_size", field="party_size")
    if not 1 <= query.limit <= MAX_RESULTS:
        raise Invalid(f"limit must be 1..{MAX_RESULTS}", code="invalid_limit", field="limit")
    now = clock.now()
    stores_q = select(Store).where(Store.tenant_id == principal.tenant_id, store_filter(principal, Store.id))
    if query.city:
        stores_q = stores_q.where(func.lower(Store.city) == query.city.strip().lower())
    if query.area:
        stores_q = stores_q.where(func.lower(Store.area) == query.area.strip().lower())
    stores = {s.id: s for s in await session.scalars(stores_q)}
    if not stores:
        return []
    rooms_q = select(Room).where(Room.store_id.in_(list(stores)))
    if query.room_type:
        rooms_q = rooms_q.where(Room.room_type == query.room_type)
    if query.kind:
        rooms_q = rooms_q.where(Room.kind == query.kind)
    if query.party_size is not None:
        rooms_q = rooms_q.where(
            Room.capacity_min <= query.party_size,
            or_(Room.capacity_max.is_(None), Room.capacity_max >= query.party_size),
        )
    rooms = list(await session.scalars(rooms_q))
    if not rooms:
        return []
    every, _ = await levels.load_all(session, principal.tenant_id)
    reach = TimeRange(window.start, window.end + timedelta(minutes=MAX_CLEANING_GAP_MIN))
    taken = await occupancy.conflicts(session, [r.id for r in rooms], reach, now)
    calendar = await load_calendar(session, principal.tenant_id, window.start, window.end)
    offers: list[Offer] = []
    for room in rooms:
        store = stores[room.store_id]
        rules = resolve(levels.layers_of(every, store_id=store.id, room_type=room.room_type))
        venue = venue_of(room, store)
        try:
            model.check_request(
                window, now=now, rules=rules, venue=venue, party_size=query.party_size, on_grid=True
            )
        except Invalid:
            continue
        if model.find_conflict(model.occupied(window, rules.cleaning_gap_min), taken[room.id]) is not None:
            continue
        quote = pricing.quote(room_plan(room), calendar, venue.tz, window.start, window.end)
        per_hour = quote.per_hour()
        if query.price_min_per_hour is not None and per_hour < query.price_min_per_hour:
            continue
        if query.price_max_per_hour is not None and per_hour > query.price_max_per_hour:
            continue
        offers.append(Offer(store, room, quote, pricing.share(quote.total, rules.deposit_pct)))
    offers.sort(key=lambda o: (o.quote.total, o.store.name, o.room.name))
    return offers[: query.limit]
