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
