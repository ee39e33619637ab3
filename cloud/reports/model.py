"""Pure rules of reports: periods in a store's local time, and the figures computed from bookings.

- occupancy = booked room-minutes / open room-minutes (confirmed, redeemed and completed bookings,
  counted only inside the store's opening hours);
- revenue = what was paid for a booking minus what was refunded of it (integer fen), counted on the
  local day the booking starts;
- redemption rate = redeemed-or-completed / confirmed bookings that are due (the customer came, or
  the booking's time is over), on the local day the booking starts;
- peak hours = booked room-minutes per local hour of the day;
- store ranking = stores by revenue, then occupancy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.errors import Invalid
from cloud.tenancy.model import OpeningHours, open_intervals

MAX_BUCKETS = 400
DEFAULT_COUNT = {"day": 14, "week": 8, "month": 6}


class Period(StrEnum):
    """The length of one bucket of a report."""

    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first
    MONTH = "month"


# Bookings whose time is sold (they fill rooms); holds are not sales yet.
SOLD = frozenset({"confirmed", "redeemed", "completed"})
# Bookings the customer came to.
ARRIVED = frozenset({"redeemed", "completed"})
# Bookings that took money (and may have given some back).
PAID = SOLD | {"cancelled", "refunded"}


@dataclass(frozen=True, slots=True)
class Bucket:
    """Local calendar days [first, end) with a label ("2026-03-02", "2026-W10", "2026-03")."""

    label: str
    first: date
    end: date


def bucket_of(day: date, period: Period) -> Bucket:
    """The bucket of the given period holding day."""
    if period is Period.DAY:
        return Bucket(day.isoformat(), day, day + timedelta(days=1))
    if period is Period.WEEK:
        first = day - timedelta(days=day.weekday())
        year, week, _ = first.isocalendar()
        return Bucket(f"{year}-W{week:02d}", first, first + timedelta(days=7))
    first = day.replace(day=1)
    end = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )
    return Bucket(f"{first:%Y-%m}", first, end)


def buckets_until(last: date, period: Period, count: int) -> list[Bucket]:
    """The `count` buckets ending with the one holding `last`, oldest first."""
    if not 1 <= count <= MAX_BUCKETS:
        raise Invalid(f"count must be 1..{MAX_BUCKETS}", code="invalid_count", field="count")
    out = [bucket_of(last, period)]
    while len(out) < count:
        out.append(bucket_of(out[-1].first - timedelta(days=1), period))
    return out[::-1]


def parse_period(value: str) -> Period:
    """A period by name (day, week, month)."""
    try:
        return Period(value)
    except ValueError as err:
        raise Invalid("period must be day, week or month", code="invalid_period", field="period") from err


def local_span(first: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of local days [first, end)."""
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    stop = datetime.combine(end, time(0), tzinfo=tz).astimezone(UTC)
    return start, stop


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What the figures need of a store: its zone, hours, closed days and how many rooms it has."""

    id: str
    name: str
    tz: ZoneInfo
    hours: OpeningHours
    closed: frozenset[date]
    rooms: int


@dataclass(frozen=True, slots=True)
class BookingFact:
    """What the figures need of a booking (money in fen)."""

    store_id: str
    room_id: str
    status: str
    starts_at: datetime
    ends_at: datetime
    amount_paid: int = 0
    refund_amount: int = 0


def revenue_of(booking: BookingFact) -> int:
    """What the booking brought in: paid minus refunded (0 for holds and lapsed holds)."""
    if booking.status not in PAID:
        return 0
    return booking.amount_paid - (booking.refund_amount or 0)


def is_due(booking: BookingFact, now: datetime) -> bool:
    """Whether the booking counts in the redemption rate: the customer came, or its time is over."""
    return booking.status in ARRIVED or (booking.status == "confirmed" and booking.ends_at <= now)


def _minutes(lo: datetime, hi: datetime) -> int:
    """Whole minutes of [lo, hi) (0 when empty)."""
    return int((hi - lo).total_seconds() // 60) if hi > lo else 0


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> int:
    """Whole minutes shared by [a0, a1) and [b0, b1)."""
    return _minutes(max(a0, b0), min(a1, b1))


def open_ranges(store: StoreFacts, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The store's opening intervals clipped to [start, end)."""
    return [
        (max(lo, start), min(hi, end))
        for lo, hi in open_intervals(store.hours, store.closed, store.tz, start, end)
        if lo < end and hi > start
    ]


def booked_minutes(booking: BookingFact, ranges: Sequence[tuple[datetime, datetime]]) -> int:
    """Minutes of a sold booking inside the given (disjoint) open ranges."""
    if booking.status not in SOLD:
        return 0
    return sum(_overlap(booking.starts_at, booking.ends_at, lo, hi) for lo, hi in ranges)


@dataclass(slots=True)
class Figures:
    """The figures of one bucket (of one store or several)."""

    label: str
    first: date
    end: date
    open_min: int = 0
    booked_min: int = 0
    revenue: int = 0
    bookings: int = 0
    due: int = 0
    redeemed: int = 0

    @property
    def occupancy(self) -> float | None:
        """Booked share of open room time (None when nothing was open)."""
        return self.booked_min / self.open_min if self.open_min else None

    @property
    def redemption_rate(self) -> float | None:
        """Share of due bookings that were redeemed (None when none was due)."""
        return self.redeemed / self.due if self.due else None

    def add(self, other: Figures) -> None:
        """Add another store's figures of the same bucket."""
        self.open_min += other.open_min
        self.booked_min += other.booked_min
        self.revenue += other.revenue
        self.bookings += other.bookings
        self.due += other.due
        self.redeemed += other.redeemed


def store_figures(
    store: StoreFacts, bookings: Iterable[BookingFact], buckets: Sequence[Bucket], now: datetime
) -> list[Figures]:
    """One store's figures per bucket (bookings of other stores are ignored)."""
    mine = [b for b in bookings if b.store_id == store.id]
    out: list[Figures] = []
    for bucket in buckets:
        start, end = local_span(bucket.first, bucket.end, store.tz)
        ranges = open_ranges(store, start, end)
        figures = Figures(bucket.label, bucket.first, bucket.end)
        figures.open_min = store.rooms * sum(_minutes(lo, hi) for lo, hi in ranges)
        for booking in mine:
            figures.booked_min += booked_minutes(booking, ranges)
            if not start <= booking.starts_at < end:
                continue
            figures.revenue += revenue_of(booking)
            if booking.status in SOLD:
                figures.bookings += 1
            if is_due(booking, now):
                figures.due += 1
                figures.redeemed += booking.status in ARRIVED
        out.append(figures)
    return out


def total_figures(per_store: Iterable[Sequence[Figures]], buckets: Sequence[Bucket]) -> list[Figures]:
    """The sum of several stores' figures, bucket by bucket."""
    out = [Figures(b.label, b.first, b.end) for b in buckets]
    for series in per_store:
        for total, figures in zip(out, series, strict=True):
            total.add(figures)
    return out


def peak_hours(
    stores: Sequence[StoreFacts], bookings: Iterable[BookingFact], first: date, end: date
) -> list[int]:
    """Booked room-minutes per local hour of the day (index 0..23) over local days [first, end)."""
    hours = [0] * 24
    by_id = {s.id: s for s in stores}
    spans = {s.id: local_span(first, end, s.tz) for s in stores}
    for booking in bookings:
        store = by_id.get(booking.store_id)
        if store is None or booking.status not in SOLD:
            continue
        lo, hi = spans[store.id]
        cursor, stop = max(booking.starts_at, lo), min(booking.ends_at, hi)
        while cursor < stop:
            local = cursor.astimezone(store.tz)
            next_hour = (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(
                UTC
            )
            piece_end = min(next_hour, stop)
            hours[local.hour] += _minutes(cursor, piece_end)
            cursor = piece_end
    return hours


@dataclass(frozen=True, slots=True)
class StoreRank:
    """A store's place in the ranking, with its figures over the whole period."""

    rank: int
    store_id: str
    name: str
    figures: Figures = field(compare=False)


def rank_stores(stores: Sequence[StoreFacts], per_store: Mapping[str, Sequence[Figures]]) -> list[StoreRank]:
    """Stores by revenue, then occupancy, then name (their figures summed over every bucket)."""
    summed: list[tuple[StoreFacts, Figures]] = []
    for store in stores:
        series = per_store.get(store.id, [])
        whole = (
            Figures("all", series[0].first, series[-1].end) if series else Figures("all", date.min, date.min)
        )
        for figures in series:
            whole.add(figures)
        summed.append((store, whole))
    summed.sort(key=lambda sf: (-sf[1].revenue, -(sf[1].occupancy or 0.0), sf[0].name))
    return [StoreRank(i + 1, s.id, s.name, f) for i, (s, f) in enumerate(summed)]
