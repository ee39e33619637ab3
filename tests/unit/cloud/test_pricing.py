"""Pure pricing: bands by time of day, weekdays and holidays, peak surcharges, off-peak discounts, fen."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.errors import Invalid
from cloud.pricing.model import (
    FREE_PLAN,
    Adjust,
    Calendar,
    DayType,
    parse_plan,
    plan_json,
    quote,
    share,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLAN: dict[str, Any] = {
    "weekday": [
        {"from": "00:00", "to": "12:00", "per_hour": 3000},
        {"from": "12:00", "to": "24:00", "per_hour": 4000},
    ],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 5000}],
    "peak": [{"from": "19:00", "to": "23:00", "pct": 20, "days": ["holiday"]}],
    "off_peak": [{"from": "02:00", "to": "10:00", "pct": 30}],
}
MONDAY = date(2030, 1, 7)
SATURDAY = date(2030, 1, 12)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def test_a_weekday_afternoon_is_priced_by_its_band() -> None:
    priced = quote(parse_plan(PLAN), Calendar(), SHANGHAI, at(MONDAY, 14), at(MONDAY, 16, 30))
    assert priced.total == 10000  # 2.5 h at 40 yuan
    assert [(line.minutes, line.per_hour, line.amount) for line in priced.lines] == [(150, 4000, 10000)]
    assert priced.lines[0].day_type is DayType.WEEKDAY and priced.lines[0].adjustment is None


def test_a_booking_across_a_band_edge_has_one_line_per_band() -> None:
    priced = quote(parse_plan(PLAN), Calendar(), SHANGHAI, at(MONDAY, 11), at(MONDAY, 13))
    assert [(line.per_hour, line.amount) for line in priced.lines] == [(3000, 3000), (4000, 4000)]
    assert priced.total == sum(line.amount for line in priced.lines) == 7000
    assert priced.lines[0].ends_at == priced.lines[1].starts_at == at(MONDAY, 12)


def test_weekends_and_holidays_use_the_holiday_bands_with_their_peak_surcharge() -> None:
    priced = quote(parse_plan(PLAN), Calendar(), SHANGHAI, at(SATURDAY, 18), at(SATURDAY, 20))
    assert [(line.day_type, line.adjustment, line.pct, line.amount) for line in priced.lines] == [
        (DayType.HOLIDAY, None, 0, 5000),
        (DayType.HOLIDAY, Adjust.PEAK, 20, 6000),
    ]
    # The same evening on a weekday has no surcharge (the peak applies to holidays only).
    weekday = quote(parse_plan(PLAN), Calendar(), SHANGHAI, at(MONDAY, 18), at(MONDAY, 20))
    assert weekday.total == 8000


def test_the_calendar_turns_a_weekday_into_a_holiday_and_a_saturday_into_a_working_day() -> None:
    plan = parse_plan(PLAN)
    calendar = Calendar(holidays=frozenset({MONDAY}), workdays=frozenset({SATURDAY}))
    assert quote(plan, calendar, SHANGHAI, at(MONDAY, 14), at(MONDAY, 15)).total == 5000
    assert quote(plan, calendar, SHANGHAI, at(SATURDAY, 14), at(SATURDAY, 15)).total == 4000
    assert calendar.day_type(SATURDAY) is DayType.WEEKDAY


def test_the_off_peak_discount_applies_to_the_minutes_it_covers_across_midnight() -> None:
    priced = quote(parse_plan(PLAN), Calendar(), SHANGHAI, at(MONDAY, 23), at(MONDAY + timedelta(days=1), 3))
    assert [(line.minutes, line.adjustment, line.amount) for line in priced.lines] == [
        (60, None, 4000),  # 23:00-24:00 at 40 yuan
        (120, None, 6000),  # 00:00-02:00 at 30 yuan
        (60, Adjust.OFF_PEAK, 2100),  # 02:00-03:00 at 30 yuan less 30 %
    ]
    assert priced.lines[1].starts_at == at(MONDAY + timedelta(days=1), 0)


def test_each_line_rounds_half_up_once_and_the_total_is_their_sum() -> None:
    plan = parse_plan({"weekday": [{"from": "00:00", "to": "24:00", "per_hour": 1001}]})
    priced = quote(plan, Calendar(), SHANGHAI, at(MONDAY, 10), at(MONDAY, 10, 30))
    assert priced.total == 501  # 500.5 rounds up
    assert share(501, 30) == 150 and share(5, 50) == 3 and share(0, 100) == 0


def test_a_room_without_a_plan_is_free() -> None:
    assert quote(FREE_PLAN, Calendar(), SHANGHAI, at(MONDAY, 10), at(MONDAY, 12)).total == 0


def test_the_average_hourly_price_is_shown() -> None:
    priced = quote(parse_plan(PLAN), Calendar(), SHANGHAI, at(MONDAY, 11), at(MONDAY, 13))
    assert priced.per_hour() == 3500
    body = priced.as_json()
    assert body["currency"] == "CNY" and body["total"] == 7000
    assert body["lines"][0]["starts_at"] == "2030-01-07T11:00:00+08:00"


@pytest.mark.parametrize(
    ("plan", "code", "field"),
    [
        ({"weekday": []}, "invalid_price_plan", "weekday"),
        ({"weekday": [{"from": "00:00", "to": "12:00", "per_hour": 1}]}, "price_plan_gap", "weekday"),
        (
            {
                "weekday": [
                    {"from": "00:00", "to": "13:00", "per_hour": 1},
                    {"from": "12:00", "to": "24:00", "per_hour": 1},
                ]
            },
            "price_plan_gap",
            "weekday",
        ),
        (
            {"weekday": [{"from": "00:00", "to": "24:00", "per_hour": -1}]},
            "invalid_price_plan",
            "weekday[0].per_hour",
        ),
        (
            {"weekday": [{"from": "0:00", "to": "24:00", "per_hour": 1}]},
            "invalid_time_of_day",
            "weekday[0].from",
        ),
        (
            {"weekday": [{"from": "22:00", "to": "02:00", "per_hour": 1}]},
            "invalid_price_plan",
            "weekday[0].to",
        ),
        (
            {
                "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 1}],
                "peak": [{"from": "18:00", "to": "22:00", "pct": 10}],
                "off_peak": [{"from": "21:00", "to": "23:00", "pct": 10}],
            },
            "price_plan_overlap",
            "off_peak",
        ),
        (
            {
                "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 1}],
                "off_peak": [{"from": "01:00", "to": "02:00", "pct": 101}],
            },
            "invalid_price_plan",
            "off_peak[0].pct",
        ),
        (
            {"weekday": [{"from": "00:00", "to": "24:00", "per_hour": 1}], "extra": 1},
            "invalid_price_plan",
            "extra",
        ),
    ],
)
def test_bad_plans_are_refused_naming_the_field(plan: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_plan(plan)
    assert (err.value.code, err.value.field) == (code, field)


def test_a_plan_reads_back_from_its_json_form() -> None:
    plan = parse_plan(PLAN)
    assert parse_plan(plan_json(plan)) == plan


@given(st.integers(0, 14 * 24 * 4), st.integers(1, 4 * 48), st.sampled_from([0, 5, 50, 100]))
def test_quotes_cover_every_minute_once_and_add_up(start_quarter: int, quarters: int, discount: int) -> None:
    plan = parse_plan({**PLAN, "off_peak": [{"from": "02:00", "to": "10:00", "pct": discount}]})
    start = at(MONDAY, 0) + timedelta(minutes=15 * start_quarter)
    end = start + timedelta(minutes=15 * quarters)
    priced = quote(plan, Calendar(), SHANGHAI, start, end)
    assert priced.minutes == 15 * quarters
    assert priced.total == sum(line.amount for line in priced.lines)
    for before, after in zip(priced.lines, priced.lines[1:], strict=False):
        assert before.ends_at == after.starts_at
    # Never below the cheapest hour nor above the dearest with surcharge, pro rata.
    assert 0 <= priced.total <= 5000 * 1.2 * priced.minutes / 60 + len(priced.lines)
