"""Pure rule of the booking pages: the start times a room offers for a stay of a given length."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cloud.booking.model import Segment, SlotState


def free_starts(
    segments: Sequence[Segment], *, duration_min: int, step_min: int, not_before: datetime
) -> list[datetime]:
    """Starts on the step grid (from each free stretch's start) where the whole stay fits in free time."""
    out: list[datetime] = []
    length = timedelta(minutes=duration_min)
    step = timedelta(minutes=max(step_min, 1))
    for segment in segments:
        if segment.state is not SlotState.FREE:
            continue
        start = segment.start
        # align to the grid of the local hour: the stretch may begin at any minute
        offset = (start.minute * 60 + start.second) % int(step.total_seconds())
        if offset:
            start += timedelta(seconds=int(step.total_seconds()) - offset)
        while start + length <= segment.end:
            if start >= not_before:
                out.append(start)
            start += step
    return out
