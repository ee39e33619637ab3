"""Pure store rules (opening hours, closed days, capacity) and the film schedule CSV parser."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cloud.booking.filmschedule import ScheduleInvalid, decode, parse_schedule
from cloud.errors import Invalid
from cloud.tenancy.model import (
    ALWAYS_OPEN,
    check_capacity,
    check_facilities,
    open_intervals,
    opening_hours_json,
    parse_closed_dates,
    parse_opening_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HALLS = {"Hall 1": "rm-h1", "Hall 2": "rm-h2"}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=SHANGHAI)


def test_opening_hours_read_overnight_intervals_and_a_missing_day_is_closed() -> None:
    hours = parse_opening_hours({"mon": ["10:00-14:00", "17:00-02:00"], "sat": ["00:00-24:00"]})
    assert hours.week[0] == ((600, 840), (1020, 1560))
    assert hours.week[1] == ()
    assert opening_hours_json(hours)["mon"] == ["10:00-14:00", "17:00-02:00"]
    assert opening_hours_json(hours)["sat"] == ["00:00-24:00"]
    assert parse_opening_hours(None) is ALWAYS_OPEN


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"mon": ["10:00"]}, "opening_hours.mon[0]"),
        ({"mon": ["10:00-25:00"]}, "opening_hours.mon[0]"),
        ({"mon": ["10:00-14:00", "13:00-15:00"]}, "opening_hours.mon"),
        ({"funday": ["10:00-14:00"]}, "funday"),
        ({"mon": "10:00-14:00"}, "mon"),
    ],
)
def test_bad_opening_hours_are_refused_naming_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_opening_hours(raw)
    assert err.value.field == field


def test_open_intervals_join_across_midnight_and_skip_closed_days() -> None:
    hours = parse_opening_hours(
        {d: ["10:00-02:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    # 2030-01-01 is a Tuesday; closed on the 2nd: its 10:00-02:00 is gone, the 1st's night remains.
    closed = parse_closed_dates(["2030-01-02"])
    found = open_intervals(hours, closed, SHANGHAI, local(1, 0), local(4, 0))
    assert found == [
        (datetime(2029, 12, 31, 10, tzinfo=SHANGHAI).astimezone(UTC), local(1, 2).astimezone(UTC)),
        (local(1, 10).astimezone(UTC), local(2, 2).astimezone(UTC)),
        (local(3, 10).astimezone(UTC), local(4, 2).astimezone(UTC)),
    ]
    around_the_clock = open_intervals(ALWAYS_OPEN, frozenset(), SHANGHAI, local(1, 0), local(3, 0))
    assert len(around_the_clock) == 1, "24-hour days join into one interval"


def test_closed_dates_and_capacity_and_facilities_are_checked() -> None:
    assert parse_closed_dates(["2030-02-10", "2030-02-10"]) == frozenset({date(2030, 2, 10)})
    with pytest.raises(Invalid) as err:
        parse_closed_dates(["10/02/2030"])
    assert err.value.field == "closed_dates[0]"
    assert check_capacity(2, 4) == (2, 4)
    assert check_capacity(1, None) == (1, None)
    with pytest.raises(Invalid) as err:
        check_capacity(4, 2)
    assert err.value.field == "capacity_max"
    assert check_facilities([" big screen ", "big screen", "sound system"]) == ["big screen", "sound system"]
    with pytest.raises(Invalid):
        check_facilities([""])


SCHEDULE = """hall,start,end,title
Hall 1,2030-01-05 10:00,2030-01-05 12:10,Film A
Hall 1,2030-01-05 13:00,2030-01-05 15:00,Film B
Hall 2,2030-01-05T13:00:00+08:00,2030-01-05T15:00:00+08:00,Film A

Hall 1,2030-01-05 13:00,2030-01-05 15:00,Film B
"""


def test_a_schedule_becomes_showings_in_utc_with_row_numbers_and_duplicates_merged() -> None:
    rows = parse_schedule(SCHEDULE, SHANGHAI, HALLS)
    assert [(r.row, r.room_id, r.title) for r in rows] == [
        (2, "rm-h1", "Film A"),
        (3, "rm-h1", "Film B"),
        (4, "rm-h2", "Film A"),
    ]
    assert rows[0].starts_at == datetime(2030, 1, 5, 2, 0, tzinfo=UTC)
    assert rows[2].ends_at == datetime(2030, 1, 5, 7, 0, tzinfo=UTC)


def test_chinese_headers_and_a_gbk_file_from_excel_are_read() -> None:
    text = "影厅,开始时间,结束时间,片名\nHall 1,2030/01/05 10:00,2030/01/05 12:00,流浪地球\n"
    rows = parse_schedule(decode(text.encode("gb18030")), SHANGHAI, HALLS)
    assert rows[0].title == "流浪地球"
    assert decode("\ufeffhall".encode()) == "hall"


def test_every_bad_row_is_reported_with_its_number_and_nothing_is_kept() -> None:
    text = """hall,start,end,title
Hall 9,2030-01-05 10:00,2030-01-05 12:00,Film A
Hall 1,2030-01-05 25:00,2030-01-05 12:00,Film B
Hall 1,2030-01-05 14:00,2030-01-05 13:00,Film C
Hall 2,2030-01-05 10:00,2030-01-05 12:00,
Hall 2,2030-01-05 13:00,2030-01-05 15:00,Film D
Hall 2,2030-01-05 14:00,2030-01-05 16:00,Film E
"""
    with pytest.raises(ScheduleInvalid) as err:
        parse_schedule(text, SHANGHAI, HALLS)
    errors = err.value.extra["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (2, "hall"),
        (3, "start"),
        (4, "end"),
        (5, "title"),
        (7, "start"),
    ]
    assert "unknown hall 'Hall 9'" in errors[0]["message"]
    assert "overlaps row 6" in errors[4]["message"]
    assert err.value.code == "invalid_schedule" and err.value.field == "file"


def test_a_missing_column_or_empty_file_is_refused_at_row_one() -> None:
    with pytest.raises(ScheduleInvalid) as err:
        parse_schedule("hall,start,title\n", SHANGHAI, HALLS)
    assert err.value.extra["errors"] == [{"row": 1, "column": "end", "message": "missing column"}]
    with pytest.raises(ScheduleInvalid):
        parse_schedule("", SHANGHAI, HALLS)


def test_a_long_film_overlapping_a_later_one_is_caught_past_a_short_one() -> None:
    text = """hall,start,end,title
Hall 1,2030-01-05 10:00,2030-01-05 15:00,Long
Hall 1,2030-01-05 11:00,2030-01-05 12:00,Short
Hall 1,2030-01-05 13:00,2030-01-05 14:00,Later
"""
    with pytest.raises(ScheduleInvalid) as err:
        parse_schedule(text, SHANGHAI, HALLS)
    assert [e["row"] for e in err.value.extra["errors"]] == [3, 4]
