"""Pure rules of booking: the life cycle, the occupied range, request checks, refunds and timelines."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cloud.errors import Conflict, Invalid
from cloud.pricing.model import share
from cloud.rules.model import BookingRules, CancellationTier
from cloud.tenancy.model import OpeningHours, open_intervals
from protos import codes

MAX_BOOKING_LENGTH = timedelta(days=2)
# An operator may enter a walk-in that started moments ago ("now, rounded down to the minute").
ADMIN_BACKDATE = timedelta(minutes=5)


class BookingStatus(StrEnum):
    """Where a booking stands."""

    HELD = "held"
    CONFIRMED = "confirmed"
    REDEEMED = "redeemed"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


S = BookingStatus
# Every legal move, in one place:
#   held -> confirmed (paid) | expired (unpaid at the deadline) | cancelled (released)
#   confirmed -> redeemed (at the door) | cancelled (refund by the rules)
#   redeemed -> completed;  cancelled -> refunded (the refund was paid out)
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.HELD: frozenset({S.CONFIRMED, S.EXPIRED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.REDEEMED, S.CANCELLED}),
    S.REDEEMED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

# Statuses whose occupied range no other booking may overlap (the PostgreSQL constraint's WHERE).
OCCUPYING = frozenset({S.HELD, S.CONFIRMED, S.REDEEMED, S.COMPLETED})
# Statuses an edge knows about: holds never leave the cloud.
EDGE_VISIBLE = frozenset({S.CONFIRMED, S.REDEEMED, S.COMPLETED, S.CANCELLED, S.REFUNDED})
# Statuses whose time may still be moved.
RESCHEDULABLE = frozenset({S.HELD, S.CONFIRMED})
# Kept for callers of the skeleton: the statuses that hold a room's time.
HOLDS_TIME = OCCUPYING


class InvalidTransition(Conflict):
    """A status change the transition table does not allow."""

    code = "invalid_transition"


class SlotTaken(Conflict):
    """The room is already taken for part of the wanted time."""

    code = "slot_taken"


class HoldExpired(Conflict):
    """The hold's payment deadline passed; its time was released."""

    code = "hold_expired"


class AlreadyConfirmed(Conflict):
    """The booking was confirmed by another payment."""

    code = "already_confirmed"


class RescheduleClosed(Conflict):
    """Too late to move the booking (or it is no longer movable)."""

    code = "reschedule_closed"


def can_transition(current: BookingStatus, target: BookingStatus) -> bool:
    """True when the table allows current -> target."""
    return target in TRANSITIONS[current]


def transition(current: BookingStatus, target: BookingStatus) -> BookingStatus:
    """The new status, or InvalidTransition naming both ends."""
    if not can_transition(current, target):
        error = InvalidTransition(f"a {current.value} booking cannot become {target.value}", field="status")
        error.extra = {"from": current.value, "to": target.value}
        raise error
    return target


def edge_status(status: BookingStatus) -> str:
    """The status an edge is told: a refunded booking is, for the door, cancelled."""
    return S.CANCELLED.value if status is S.REFUNDED else status.value


def tells_edge(current: BookingStatus, target: BookingStatus) -> bool:
    """Whether moving current -> target changes what the store's edge knows.

    An edge first hears of a booking when it is confirmed; a hold released or expired never
    reaches it; refunded after cancelled looks the same at the door.
    """
    if current not in EDGE_VISIBLE:
        return target in EDGE_VISIBLE and target not in (S.CANCELLED, S.REFUNDED)
    return edge_status(target) != edge_status(current)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open interval [start, end) of aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: TimeRange) -> bool:
        """True when the two ranges share any instant ([a,b) and [b,c) do not)."""
        return self.start < other.end and other.start < self.end

    @property
    def minutes(self) -> int:
        """Length in whole minutes."""
        return int((self.end - self.start).total_seconds() // 60)


class Occupant(StrEnum):
    """What occupies a room's time."""

    BOOKING = "booking"
    HOLD = "hold"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Slot:
    """Something holding a room's time: a booking (its range and occupied range) or a block."""

    ref: str
    range: TimeRange
    occupied: TimeRange | None = None
    kind: Occupant = Occupant.BOOKING

    @property
    def taken(self) -> TimeRange:
        """The range no other booking may overlap (cleaning gap included)."""
        return self.occupied if self.occupied is not None else self.range


def overlaps(a: TimeRange, b: TimeRange) -> bool:
    """The overlap rule: half-open ranges that share an instant."""
    return a.overlaps(b)


def occupied(window: TimeRange, cleaning_gap_min: int) -> TimeRange:
    """The range a booking takes from its room: its time plus the cleaning gap after it."""
    return TimeRange(window.start, window.end + timedelta(minutes=cleaning_gap_min))


def find_conflict(wanted: TimeRange, taken: Iterable[Slot]) -> Slot | None:
    """The first slot (earliest start) whose taken range overlaps wanted, if any."""
    hits = [slot for slot in taken if overlaps(wanted, slot.taken)]
    return min(hits, key=lambda s: s.range.start) if hits else None


def slot_taken(conflict: Slot) -> SlotTaken:
    """The error naming the conflicting range (and, for a booking, where its cleaning ends)."""
    start, end = conflict.range.start.isoformat(), conflict.range.end.isoformat()
    what = "blocked" if conflict.kind is Occupant.BLOCK else "booked"
    error = SlotTaken(f"the room is already {what} from {start} to {end}", field="starts_at")
    error.extra = {
        "conflict": {
            "starts_at": start,
            "ends_at": end,
            "occupied_until": conflict.taken.end.isoformat(),
            "kind": conflict.kind.value,
        }
    }
    return error


def check_window(starts_at: datetime, ends_at: datetime) -> TimeRange:
    """A bookable window: aware, whole minutes, end after start, at most MAX_BOOKING_LENGTH."""
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise Invalid(f"{field} needs a time zone", code="naive_datetime", field=field)
        if value.second or value.microsecond:
            raise Invalid(f"{field} must be a whole minute", code="not_whole_minute", field=field)
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at", code="empty_window", field="ends_at")
    if ends_at - starts_at > MAX_BOOKING_LENGTH:
        raise Invalid("the booking is too long", code="window_too_long", field="ends_at")
    return TimeRange(starts_at.astimezone(UTC), ends_at.astimezone(UTC))


def floor_minute(now: datetime) -> datetime:
    """now without its seconds."""
    return now.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Venue:
    """What the rules need to know about a room and its store."""

    tz: ZoneInfo
    hours: OpeningHours
    closed_dates: frozenset[date]
    capacity_min: int
    capacity_max: int | None


def check_party(party_size: int | None, venue: Venue) -> None:
    """A party must fit the room (no size given: not checked)."""
    if party_size is None:
        return
    if party_size < 1:
        raise Invalid("party_size must be at least 1", code="invalid_party_size", field="party_size")
    if venue.capacity_max is not None and party_size > venue.capacity_max:
        raise Invalid(
            f"the room takes at most {venue.capacity_max} people", code="party_too_large", field="party_size"
        )
    if party_size < venue.capacity_min:
        raise Invalid(
            f"the room needs at least {venue.capacity_min} people", code="party_too_small", field="party_size"
        )


def check_open(window: TimeRange, venue: Venue) -> None:
    """The whole window must fall inside the store's opening hours (closed days excluded)."""
    intervals = open_intervals(venue.hours, venue.closed_dates, venue.tz, window.start, window.end)
    if any(lo <= window.start and window.end <= hi for lo, hi in intervals):
        return
    local_day = window.start.astimezone(venue.tz).date()
    if local_day in venue.closed_dates:
        raise Invalid(
            f"the store is closed on {local_day.isoformat()}", code="store_closed", field="starts_at"
        )
    start_open = any(lo <= window.start < hi for lo, hi in intervals)
    raise Invalid(
        "the booking is outside the store's opening hours",
        code="outside_opening_hours",
        field="ends_at" if start_open else "starts_at",
    )


def check_request(
    window: TimeRange,
    *,
    now: datetime,
    rules: BookingRules,
    venue: Venue,
    party_size: int | None,
    on_grid: bool,
    backdate: timedelta = timedelta(0),
) -> None:
    """Every rule a new booking's time must meet, checked before touching the database.

    Durations are the minimum plus whole steps; `on_grid` (customer holds) also puts the start on
    the step grid from the store's local midnight. An operator's booking may start `backdate` early.
    """
    earliest = floor_minute(now) - backdate
    if window.start < earliest:
        raise Invalid("the booking starts in the past", code="starts_in_past", field="starts_at")
    latest = now + timedelta(days=rules.booking_window_days)
    if window.start > latest:
        error = Invalid(
            f"bookings open {rules.booking_window_days} days ahead", code="beyond_window", field="starts_at"
        )
        error.extra = {"latest_start": latest.isoformat()}
        raise error
    minutes = window.minutes
    if minutes < rules.min_duration_min:
        raise Invalid(
            f"the minimum duration is {rules.min_duration_min} minutes", code="too_short", field="ends_at"
        )
    if (minutes - rules.min_duration_min) % rules.step_min:
        raise Invalid(
            f"durations grow from {rules.min_duration_min} minutes in steps of {rules.step_min}",
            code="off_step",
            field="ends_at",
        )
    if on_grid:
        local = window.start.astimezone(venue.tz)
        if (local.hour * 60 + local.minute) % rules.step_min:
            raise Invalid(
                f"bookings start on the {rules.step_min}-minute grid", code="off_grid", field="starts_at"
            )
    check_party(party_size, venue)
    check_open(window, venue)


def hold_deadline(now: datetime, rules: BookingRules) -> datetime:
    """When an unpaid hold made now is released."""
    return now + timedelta(minutes=rules.hold_min)


def is_live_hold(status: BookingStatus, expires_at: datetime | None, now: datetime) -> bool:
    """A hold that still blocks its time (an expired one does not, even before the sweeper runs)."""
    return status is S.HELD and (expires_at is None or expires_at > now)


@dataclass(frozen=True, slots=True)
class Refund:
    """What a cancellation gives back: the tier's percent and the amount (fen)."""

    pct: int
    amount: int
    minutes_before: int


def refund_for(
    amount_paid: int, tiers: Sequence[CancellationTier], starts_at: datetime, now: datetime
) -> Refund:
    """The refund of a cancellation now: the first tier whose notice is met (longest first), else none."""
    minutes_before = int((starts_at - now).total_seconds() // 60)
    pct = 0
    for tier in sorted(tiers, key=lambda t: -t.min_before_min):
        if minutes_before >= tier.min_before_min:
            pct = tier.refund_pct
            break
    return Refund(pct=pct, amount=share(amount_paid, pct), minutes_before=minutes_before)


def check_reschedule(status: BookingStatus, starts_at: datetime, notice_min: int, now: datetime) -> None:
    """A held or confirmed booking may move until notice_min minutes before its (current) start."""
    if status is S.EXPIRED:
        # The same answer whether the sweeper or another booking's transaction expired it first.
        raise HoldExpired("the hold's payment deadline passed", field="ref")
    if status not in RESCHEDULABLE:
        raise RescheduleClosed(f"a {status.value} booking cannot be moved", field="status")
    if status is S.CONFIRMED and now > starts_at - timedelta(minutes=notice_min):
        raise RescheduleClosed(
            f"bookings can be moved until {notice_min} minutes before they start", field="starts_at"
        )


def phone_last4(phone: str) -> str:
    """The last four digits of a phone number (the offline fallback's second factor)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 4 or len(digits) > 20:
        raise Invalid("phone must have 4..20 digits", code="invalid_phone", field="phone")
    return digits[-4:]


def code_validity(now: float) -> tuple[int, int]:
    """(seconds the code drawn at now stays valid, seconds until the page draws the next one)."""
    minute = int(now) // 60
    valid_until = (minute + codes.VALID_MINUTES) * 60
    next_at = (minute + 1) * 60
    return max(0, int(valid_until - now)), max(0, int(next_at - now))


@dataclass(frozen=True, slots=True)
class BookingInfo:
    """What an edge must know about a booking."""

    ref: str
    room_id: str
    starts_at: datetime
    ends_at: datetime
    order_no: str
    phone_last4: str
    status: BookingStatus

    def payload(self) -> dict[str, Any]:
        """The store-feed payload of this item (times as unix seconds)."""
        return {
            "ref": self.ref,
            "room_id": self.room_id,
            "starts_at": int(self.starts_at.timestamp()),
            "ends_at": int(self.ends_at.timestamp()),
            "order_no": self.order_no,
            "phone_last4": self.phone_last4,
            "status": edge_status(self.status),
        }


class BlockKind(StrEnum):
    """Why a room's time is blocked."""

    FILM = "film"
    MAINTENANCE = "maintenance"
    MANUAL = "manual"


MAX_BLOCK_LENGTH = timedelta(days=31)


def check_block_window(starts_at: datetime, ends_at: datetime) -> TimeRange:
    """A block's window: aware, whole minutes, end after start, at most MAX_BLOCK_LENGTH."""
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise Invalid(f"{field} needs a time zone", code="naive_datetime", field=field)
        if value.second or value.microsecond:
            raise Invalid(f"{field} must be a whole minute", code="not_whole_minute", field=field)
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at", code="empty_window", field="ends_at")
    if ends_at - starts_at > MAX_BLOCK_LENGTH:
        raise Invalid("a block lasts at most 31 days", code="window_too_long", field="ends_at")
    return TimeRange(starts_at.astimezone(UTC), ends_at.astimezone(UTC))


def block_state(kind: str) -> SlotState:
    """How a block shows on a timeline."""
    return SlotState.MAINTENANCE if kind == BlockKind.MAINTENANCE.value else SlotState.BLOCKED


# --- timelines ---------------------------------------------------------------------------------


class SlotState(StrEnum):
    """A stretch of a room's day in the availability view."""

    FREE = "free"
    HELD = "held"
    BOOKED = "booked"
    BLOCKED = "blocked"
    CLEANING = "cleaning"
    MAINTENANCE = "maintenance"
    CLOSED = "closed"


# Where two overlap, the first listed is shown (a clash stays visible as the booking).
STATE_PRIORITY: tuple[SlotState, ...] = (
    SlotState.BOOKED,
    SlotState.HELD,
    SlotState.MAINTENANCE,
    SlotState.BLOCKED,
    SlotState.CLEANING,
    SlotState.CLOSED,
)


@dataclass(frozen=True, slots=True)
class Occupation:
    """One thing on a room's timeline."""

    state: SlotState
    range: TimeRange
    ref: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of a room's timeline in one state."""

    state: SlotState
    start: datetime
    end: datetime
    ref: str | None = None
    title: str | None = None


def closed_occupations(day: TimeRange, open_ranges: Sequence[tuple[datetime, datetime]]) -> list[Occupation]:
    """The parts of day outside the opening intervals, as CLOSED occupations."""
    out: list[Occupation] = []
    cursor = day.start
    for lo, hi in sorted(open_ranges):
        if lo > cursor:
            out.append(Occupation(SlotState.CLOSED, TimeRange(cursor, min(lo, day.end))))
        cursor = max(cursor, hi)
    if cursor < day.end:
        out.append(Occupation(SlotState.CLOSED, TimeRange(cursor, day.end)))
    return [o for o in out if o.range.start < o.range.end]


def booking_occupations(
    ref: str, status: BookingStatus, window: TimeRange, occupied_until: datetime
) -> list[Occupation]:
    """A booking's time (held or booked) and its cleaning gap."""
    state = SlotState.HELD if status is S.HELD else SlotState.BOOKED
    out = [Occupation(state, window, ref)]
    if occupied_until > window.end:
        out.append(Occupation(SlotState.CLEANING, TimeRange(window.end, occupied_until), ref))
    return out


def timeline(day: TimeRange, occupations: Iterable[Occupation]) -> list[Segment]:
    """The day cut into segments by state (highest priority wins where things overlap), free elsewhere."""
    items = [o for o in occupations if o.range.overlaps(day)]
    cuts = {day.start, day.end}
    for o in items:
        cuts.add(max(o.range.start, day.start))
        cuts.add(min(o.range.end, day.end))
    points = sorted(cuts)
    rank = {state: i for i, state in enumerate(STATE_PRIORITY)}
    segments: list[Segment] = []
    for lo, hi in itertools.pairwise(points):
        here = [o for o in items if o.range.start <= lo and hi <= o.range.end]
        top = min(here, key=lambda o: rank[o.state]) if here else None
        state = top.state if top else SlotState.FREE
        ref = top.ref if top else None
        title = top.title if top else None
        last = segments[-1] if segments else None
        if last is not None and (last.state, last.ref, last.title) == (state, ref, title):
            segments[-1] = Segment(state, last.start, hi, ref, title)
        else:
            segments.append(Segment(state, lo, hi, ref, title))
    return segments
