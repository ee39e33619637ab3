"""Pure rules of booking: the status machine, the booking window and the overlap rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cloud.errors import Conflict, Invalid
from protos import codes

MAX_BOOKING_LENGTH = timedelta(days=2)


class BookingStatus(StrEnum):
    """Where a booking stands."""

    CONFIRMED = "confirmed"
    REDEEMED = "redeemed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Every legal move, in one place.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.CONFIRMED: frozenset({BookingStatus.REDEEMED, BookingStatus.CANCELLED}),
    BookingStatus.REDEEMED: frozenset({BookingStatus.COMPLETED}),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
}

# Statuses that hold the room's time (everything but cancelled).
HOLDS_TIME = frozenset({BookingStatus.CONFIRMED, BookingStatus.REDEEMED, BookingStatus.COMPLETED})


class InvalidTransition(Conflict):
    """A status change the transition table does not allow."""

    code = "invalid_transition"


class SlotTaken(Conflict):
    """The room is already booked for part of the wanted time."""

    code = "slot_taken"


def can_transition(current: BookingStatus, target: BookingStatus) -> bool:
    """True when the table allows current -> target."""
    return target in TRANSITIONS[current]


def transition(current: BookingStatus, target: BookingStatus) -> BookingStatus:
    """The new status, or InvalidTransition."""
    if not can_transition(current, target):
        raise InvalidTransition(f"a {current.value} booking cannot become {target.value}", field="status")
    return target


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open interval [start, end) of aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: TimeRange) -> bool:
        """True when the two ranges share any instant ([a,b) and [b,c) do not)."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Slot:
    """A booking's hold on a room: its ref and time range."""

    ref: str
    range: TimeRange


def overlaps(a: TimeRange, b: TimeRange) -> bool:
    """The overlap rule: half-open ranges that share an instant."""
    return a.overlaps(b)


def find_conflict(wanted: TimeRange, taken: Iterable[Slot]) -> Slot | None:
    """The first slot (earliest start) that overlaps wanted, if any."""
    hits = [slot for slot in taken if overlaps(wanted, slot.range)]
    return min(hits, key=lambda s: s.range.start) if hits else None


def slot_taken(conflict: Slot) -> SlotTaken:
    """The error naming the conflicting booking's range."""
    start, end = conflict.range.start.isoformat(), conflict.range.end.isoformat()
    error = SlotTaken(f"the room is already booked from {start} to {end}", field="starts_at")
    error.extra = {"conflict": {"starts_at": start, "ends_at": end}}
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
            "status": self.status.value,
        }
