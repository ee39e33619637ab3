"""The booking pages offer starts on the step grid where the whole stay fits in free time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.booking.model import Segment, SlotState
from cloud.web.booking.slots import free_starts

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)


def test_starts_fall_on_the_grid_inside_free_stretches_and_not_in_the_past() -> None:
    segments = [
        Segment(SlotState.FREE, T0 + timedelta(minutes=10), T0 + timedelta(hours=3)),
        Segment(SlotState.BOOKED, T0 + timedelta(hours=3), T0 + timedelta(hours=4)),
    ]
    starts = free_starts(segments, duration_min=60, step_min=30, not_before=T0 + timedelta(minutes=40))
    assert starts == [T0 + timedelta(minutes=m) for m in (60, 90, 120)]


def test_the_cleaning_gap_is_left_before_the_next_booking_but_not_before_closing_time() -> None:
    before_booking = [
        Segment(SlotState.FREE, T0, T0 + timedelta(hours=3)),
        Segment(SlotState.BOOKED, T0 + timedelta(hours=3), T0 + timedelta(hours=4)),
    ]
    starts = free_starts(before_booking, duration_min=60, step_min=30, not_before=T0, cleaning_gap_min=30)
    assert starts[-1] == T0 + timedelta(minutes=90), (
        "11:30-12:30 plus 30 min cleaning meets the 13:00 booking"
    )
    before_closing = [
        Segment(SlotState.FREE, T0, T0 + timedelta(hours=3)),
        Segment(SlotState.CLOSED, T0 + timedelta(hours=3), T0 + timedelta(hours=14)),
    ]
    starts = free_starts(before_closing, duration_min=60, step_min=30, not_before=T0, cleaning_gap_min=30)
    assert starts[-1] == T0 + timedelta(hours=2), "the last stay may end at closing time"


def test_starts_follow_the_local_grid_and_stop_at_the_booking_window() -> None:
    from zoneinfo import ZoneInfo

    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: the local hour is not the UTC hour
    segments = [Segment(SlotState.FREE, T0, T0 + timedelta(hours=4))]
    starts = free_starts(
        segments, duration_min=60, step_min=60, not_before=T0, tz=kolkata, not_after=T0 + timedelta(hours=2)
    )
    assert [s.astimezone(kolkata).minute for s in starts] == [0, 0]
    assert starts == [T0 + timedelta(minutes=30), T0 + timedelta(minutes=90)]
