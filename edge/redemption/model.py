"""Redemption rules (pure): may this code or order open this room now?"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from edge.records import Booking, BookingStatus, RoomSession
from edge.sessions.model import RoomState, holds_room
from protos.codes import CodeClaim


class Reason(StrEnum):
    """Stable refusal reasons decided at the edge (code-level reasons come from protos.codes)."""

    WRONG_ROOM = "wrong_room"
    REVOKED = "revoked"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    ALREADY_IN_USE = "already_in_use"
    NO_SUCH_ROOM = "no_such_room"
    ROOM_UNAVAILABLE = "room_unavailable"
    UNKNOWN_ORDER = "unknown_order"
    AMBIGUOUS_ORDER = "ambiguous_order"
    DEVICE_FAILED = "device_failed"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"


@dataclass(frozen=True, slots=True)
class Redeem:
    """Open the room and start the booking's session; `known`: the edge had the booking cached."""

    known: bool


@dataclass(frozen=True, slots=True)
class Reentry:
    """The booking was already redeemed here and its window is open: open the door again."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Keep the door shut; `reason` is a stable code."""

    reason: str


Decision = Redeem | Reentry | Refuse


@dataclass(frozen=True, slots=True)
class Entry:
    """What is being redeemed: a booking, its room and its window (from a code or a cached booking)."""

    booking_ref: str
    room_id: str
    starts_at: int
    ends_at: int


def _decide_entry(
    entry: Entry,
    *,
    booking: Booking | None,
    revoked: bool,
    session: RoomSession | None,
    already_redeemed: bool,
    now: float,
    early_grace_s: int,
) -> Decision:
    if revoked or (booking is not None and booking.status == BookingStatus.CANCELLED):
        return Refuse(Reason.REVOKED)
    if booking is not None and booking.status == BookingStatus.COMPLETED:
        return Refuse(Reason.EXPIRED)
    if holds_room(session, now) and session is not None and session.booking_ref == entry.booking_ref:
        # The booking's own session is in progress: its end may have been extended past the code's.
        return Reentry()
    # The cached booking is the cloud's latest word (an extension moves its end); else trust the code.
    starts_at = booking.starts_at if booking is not None else entry.starts_at
    ends_at = booking.ends_at if booking is not None else entry.ends_at
    if now < starts_at - early_grace_s:
        return Refuse(Reason.NOT_YET_VALID)
    if now >= ends_at:
        return Refuse(Reason.EXPIRED)
    if holds_room(session, now):
        assert session is not None
        if session.booking_ref == entry.booking_ref:
            return Reentry()
        return Refuse(Reason.ALREADY_IN_USE)
    if session is not None and session.state in (RoomState.CLEANING, RoomState.MAINTENANCE):
        return Refuse(Reason.ROOM_UNAVAILABLE)
    if already_redeemed or (booking is not None and booking.status == BookingStatus.REDEEMED):
        return Reentry()
    return Redeem(known=booking is not None)


def decide_code(
    claim: CodeClaim,
    *,
    scanner_room: str | None,
    room_exists: bool,
    booking: Booking | None,
    session: RoomSession | None,
    revocations: Collection[str],
    already_redeemed: bool,
    now: float,
    early_grace_s: int,
) -> Decision:
    """Decide on a verified code scanned in `scanner_room` (None: an entrance scanner or the panel)."""
    if scanner_room is not None and claim.room_id != scanner_room:
        return Refuse(Reason.WRONG_ROOM)
    if not room_exists:
        return Refuse(Reason.NO_SUCH_ROOM)
    if booking is not None and booking.room_id != claim.room_id:
        # The booking moved to another room since this code's page was drawn.
        return Refuse(Reason.WRONG_ROOM)
    entry = Entry(claim.booking_ref, claim.room_id, claim.starts_at, claim.ends_at)
    return _decide_entry(
        entry,
        booking=booking,
        revoked=claim.booking_ref in revocations,
        session=session,
        already_redeemed=already_redeemed,
        now=now,
        early_grace_s=early_grace_s,
    )


def match_order(
    bookings: Collection[Booking], phone_last4: str, room_id: str | None, now: float
) -> Booking | Refuse:
    """Pick the cached booking an order number + phone digits mean (in `room_id` when given)."""
    digits = phone_last4.strip()
    if len(digits) != 4 or not digits.isdigit():
        return Refuse(Reason.UNKNOWN_ORDER)
    matches = [b for b in bookings if b.phone_last4 == digits and (room_id is None or b.room_id == room_id)]
    if not matches:
        return Refuse(Reason.UNKNOWN_ORDER)
    live = sorted((b for b in matches if now < b.ends_at), key=lambda b: (b.starts_at, b.ref))
    if not live:
        return max(matches, key=lambda b: b.ends_at)  # refused as expired by decide_order
    if room_id is None and len({b.room_id for b in live}) > 1:
        # One order booked several rooms: the fallback must say which room.
        return Refuse(Reason.AMBIGUOUS_ORDER)
    return live[0]


def decide_order(
    booking: Booking | None,
    *,
    room_id: str | None,
    room_exists: bool,
    session: RoomSession | None,
    already_redeemed: bool,
    now: float,
    early_grace_s: int,
) -> Decision:
    """Decide on the fallback (order number + phone digits) for a cached booking only."""
    if booking is None:
        return Refuse(Reason.UNKNOWN_ORDER)
    if room_id is not None and booking.room_id != room_id:
        return Refuse(Reason.WRONG_ROOM)
    if not room_exists:
        return Refuse(Reason.NO_SUCH_ROOM)
    entry = Entry(booking.ref, booking.room_id, booking.starts_at, booking.ends_at)
    return _decide_entry(
        entry,
        booking=booking,
        revoked=False,
        session=session,
        already_redeemed=already_redeemed,
        now=now,
        early_grace_s=early_grace_s,
    )
