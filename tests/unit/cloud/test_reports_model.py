"""Pure report rules: local periods, occupancy inside opening hours, revenue, redemption, peaks, ranking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.errors import Invalid
from cloud.reports.model import (
    BookingFact,
    Period,
    StoreFacts,
    bucket_of,
    buckets_until,
    is_due,
    parse_period,
    peak_hours,
    rank_stores,
    revenue_of,
    store_figures,
    total_figures,
)
from cloud.tenancy.model import ALWAYS_OPEN, parse_opening_hours

SH = ZoneInfo("Asia/Shanghai")


def store(sid: str = "s1", *, rooms: int = 2, hours: dict[str, list[str]] | None = None) -> StoreFacts:
    opening = parse_opening_hours(hours) if hours is not None else ALWAYS_OPEN
    return StoreFacts(sid, f"Store {sid}", SH, opening, frozenset(), rooms)


def at(day: str, hhmm: str) -> datetime:
    """A Shanghai local time as UTC."""
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SH).astimezone(UTC)


def booking(
    start: datetime,
    hours: float,
    status: str = "completed",
    paid: int = 10000,
    refund: int = 0,
    sid: str = "s1",
) -> BookingFact:
    return BookingFact(sid, "rm1", status, start, start + timedelta(hours=hours), paid, refund)


def test_buckets_are_local_days_iso_weeks_and_months_oldest_first() -> None:
    assert [b.label for b in buckets_until(date(2026, 3, 2), Period.DAY, 3)] == [
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
    ]
    weeks = buckets_until(date(2026, 1, 1), Period.WEEK, 2)
    assert [(w.label, w.first) for w in weeks] == [
        ("2025-W52", date(2025, 12, 22)),
        ("2026-W01", date(2025, 12, 29)),
    ]
    months = buckets_until(date(2026, 1, 15), Period.MONTH, 2)
    assert [(m.label, m.first, m.end) for m in months] == [
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2026-01", date(2026, 1, 1), date(2026, 2, 1)),
    ]


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.sampled_from(list(Period)))
def test_every_day_lies_in_its_bucket_and_buckets_touch(day: date, period: Period) -> None:
    bucket = bucket_of(day, period)
    assert bucket.first <= day < bucket.end
    assert bucket_of(bucket.end, period).first == bucket.end


def test_a_bad_period_or_count_is_refused_with_a_reason() -> None:
    with pytest.raises(Invalid) as err:
        parse_period("year")
    assert err.value.code == "invalid_period"
    with pytest.raises(Invalid) as err:
        buckets_until(date(2026, 1, 1), Period.DAY, 0)
    assert err.value.code == "invalid_count"


def test_occupancy_is_booked_over_open_room_minutes_inside_opening_hours() -> None:
    shop = store(
        rooms=2, hours={d: ["10:00-22:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    day = buckets_until(date(2026, 3, 2), Period.DAY, 1)
    rows = [
        booking(at("2026-03-02", "12:00"), 3),  # 180 min
        booking(at("2026-03-02", "21:00"), 2),  # only 60 min inside the hours
        booking(at("2026-03-02", "15:00"), 1, status="held"),  # not sold: ignored
        booking(at("2026-03-02", "16:00"), 1, status="cancelled", paid=5000, refund=5000),
    ]
    [fig] = store_figures(shop, rows, day, now=at("2026-03-03", "00:00"))
    assert fig.open_min == 2 * 12 * 60
    assert fig.booked_min == 240
    assert fig.occupancy == pytest.approx(240 / 1440)
    assert fig.bookings == 2


def test_a_booking_across_midnight_fills_both_local_days() -> None:
    days = buckets_until(date(2026, 3, 3), Period.DAY, 2)
    rows = [booking(at("2026-03-02", "23:00"), 2, paid=8000)]
    first, second = store_figures(store(rooms=1), rows, days, now=at("2026-03-04", "00:00"))
    assert (first.booked_min, second.booked_min) == (60, 60)
    assert (first.revenue, second.revenue) == (8000, 0)  # revenue on the day it starts


def test_revenue_is_paid_minus_refunded_in_fen_and_holds_bring_nothing() -> None:
    assert revenue_of(booking(at("2026-03-02", "10:00"), 1, status="completed", paid=12345)) == 12345
    assert (
        revenue_of(booking(at("2026-03-02", "10:00"), 1, status="refunded", paid=10000, refund=5000)) == 5000
    )
    assert revenue_of(booking(at("2026-03-02", "10:00"), 1, status="held", paid=0)) == 0
    assert revenue_of(booking(at("2026-03-02", "10:00"), 1, status="expired", paid=3000)) == 0


def test_redemption_rate_counts_arrivals_over_confirmed_bookings_that_are_due() -> None:
    now = at("2026-03-02", "18:00")
    came = booking(at("2026-03-02", "10:00"), 2, status="redeemed")
    no_show = booking(at("2026-03-02", "12:00"), 2, status="confirmed")
    later = booking(at("2026-03-02", "20:00"), 2, status="confirmed")
    cancelled = booking(at("2026-03-02", "09:00"), 1, status="cancelled")
    assert [is_due(b, now) for b in (came, no_show, later, cancelled)] == [True, True, False, False]
    [fig] = store_figures(
        store(), [came, no_show, later, cancelled], buckets_until(date(2026, 3, 2), Period.DAY, 1), now
    )
    assert (fig.redeemed, fig.due, fig.redemption_rate) == (1, 2, 0.5)


def test_rates_are_none_when_there_is_nothing_to_divide_by() -> None:
    [fig] = store_figures(
        store(rooms=0), [], buckets_until(date(2026, 3, 2), Period.DAY, 1), at("2026-03-02", "12:00")
    )
    assert fig.occupancy is None and fig.redemption_rate is None


def test_other_stores_bookings_do_not_count_and_totals_add_up() -> None:
    days = buckets_until(date(2026, 3, 2), Period.DAY, 1)
    a, b = store("a", rooms=1), store("b", rooms=3)
    rows = [
        booking(at("2026-03-02", "10:00"), 1, sid="a", paid=100),
        booking(at("2026-03-02", "10:00"), 2, sid="b", paid=200),
    ]
    now = at("2026-03-03", "00:00")
    fa, fb = store_figures(a, rows, days, now), store_figures(b, rows, days, now)
    assert (fa[0].booked_min, fa[0].revenue) == (60, 100)
    [total] = total_figures([fa, fb], days)
    assert (total.open_min, total.booked_min, total.revenue) == (4 * 1440, 180, 300)


def test_peak_hours_spread_booked_minutes_over_local_hours() -> None:
    rows = [booking(at("2026-03-02", "19:30"), 2), booking(at("2026-03-02", "20:00"), 1, status="held")]
    hours = peak_hours([store()], rows, date(2026, 3, 2), date(2026, 3, 3))
    assert hours[19] == 30 and hours[20] == 60 and hours[21] == 30
    assert sum(hours) == 120


def test_stores_rank_by_revenue_then_occupancy() -> None:
    days = buckets_until(date(2026, 3, 2), Period.DAY, 2)
    stores = [store("a", rooms=1), store("b", rooms=1), store("c", rooms=1)]
    rows = [
        booking(at("2026-03-01", "10:00"), 1, sid="a", paid=100),
        booking(at("2026-03-02", "10:00"), 1, sid="b", paid=300),
        booking(at("2026-03-02", "10:00"), 3, sid="c", paid=100),
    ]
    now = at("2026-03-03", "00:00")
    ranking = rank_stores(stores, {s.id: store_figures(s, rows, days, now) for s in stores})
    assert [(r.rank, r.store_id) for r in ranking] == [(1, "b"), (2, "c"), (3, "a")]
    assert ranking[0].figures.revenue == 300
