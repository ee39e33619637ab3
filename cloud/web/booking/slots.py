"""Pure rule of the booking pages: the start times a room offers for a stay of a given length."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cloud.booking.model import Segment, SlotState

UTC_ZONE = ZoneInfo("UTC")


def _on_grid(moment: datetime, step_min: int, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz)
    return (local.hour * 60 + local.minute) % step_min == 0 and not local.second and not local.microsecond


def _first_on_grid(start: datetime, step_min: int, tz: ZoneInfo) -> datetime:
    """The first whole minute at or after start on the step grid of the local day."""
    moment = start
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(step_min):
        if _on_grid(moment, step_min, tz):
            return moment
        moment += timedelta(minutes=1)
    return moment


def free_starts(
    segments: Sequence[Segment],
    *,
    duration_min: int,
    step_min: int,
    not_before: datetime,
    not_after: datetime | None = None,
    cleaning_gap_min: int = 0,
    tz: ZoneInfo = UTC_ZONE,
) -> list[datetime]:
    """Starts the hold will accept: on the step grid of the local day, not in the past nor beyond the
    booking window, where the stay and the cleaning gap after it fit in free time.

    The gap is needed before whatever ends a free stretch (a booking, a hold, a block, the day's
    end), except closing time: nothing can be booked while the store is closed.
    """
    out: list[datetime] = []
    length = timedelta(minutes=duration_min)
    gap = timedelta(minutes=max(cleaning_gap_min, 0))
    step = max(step_min, 1)
    earliest = not_before.replace(second=0, microsecond=0)
    if earliest < not_before:
        earliest += timedelta(minutes=1)
    for index, segment in enumerate(segments):
        if segment.state is not SlotState.FREE:
            continue
        following = segments[index + 1] if index + 1 < len(segments) else None
        tail = timedelta(0) if following is not None and following.state is SlotState.CLOSED else gap
        start = _first_on_grid(max(segment.start, earliest), step, tz)
        while start + length + tail <= segment.end:
            if not_after is not None and start > not_after:
                break
            if _on_grid(start, step, tz):
                out.append(start)
                start += timedelta(minutes=step)
            else:  # a daylight-saving shift moved the grid: find it again
                start = _first_on_grid(start, step, tz)
    return [s.astimezone(UTC) for s in out]
