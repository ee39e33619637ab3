"""Which rooms to hold for their bookings, and which sessions the cloud extended (pure)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from edge.records import Booking, BookingStatus
from edge.sessions.model import OCCUPIED, Move, RoomSession, RoomState


@dataclass(frozen=True, slots=True)
class Planned:
    """A move the cached bookings call for."""

    room_id: str
    move: Move
    booking_ref: str | None = None
    starts_at: float | None = None
    ends_at: float | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Moves to make now, and when to look again (None: no booking ahead in view)."""

    moves: tuple[Planned, ...]
    next_check: float | None


def _bookable(booking: Booking, redeemed: Collection[str]) -> bool:
    return booking.status == BookingStatus.CONFIRMED and booking.ref not in redeemed


def plan(
    sessions: Mapping[str, RoomSession],
    rooms: Iterable[str],
    bookings: Iterable[Booking],
    redeemed: Collection[str],
    now: float,
    grace_of: Callable[[str], int],
) -> Plan:
    """Reserve free rooms whose booking's window (start - grace) is open; release reservations of
    cancelled or redeemed-elsewhere bookings; extend sessions whose booking now ends later."""
    by_room: dict[str, list[Booking]] = {}
    by_ref: dict[str, Booking] = {}
    for booking in bookings:
        by_room.setdefault(booking.room_id, []).append(booking)
        by_ref[booking.ref] = booking
    moves: list[Planned] = []
    next_check: float | None = None
    for room_id in rooms:
        session = sessions.get(room_id) or RoomSession(room_id)
        candidates = sorted(by_room.get(room_id, ()), key=lambda b: (b.starts_at, b.ref))
        grace = grace_of(room_id)
        if session.state is RoomState.FREE:
            for booking in candidates:
                if not _bookable(booking, redeemed) or now >= booking.ends_at:
                    continue
                opens = booking.starts_at - grace
                if opens <= now:
                    moves.append(
                        Planned(
                            room_id,
                            Move.RESERVE,
                            booking.ref,
                            float(booking.starts_at),
                            float(booking.ends_at),
                        )
                    )
                    break
                next_check = opens if next_check is None else min(next_check, opens)
                break
        elif session.state is RoomState.RESERVED and session.booking_ref is not None:
            held = by_ref.get(session.booking_ref)
            if held is not None and not _bookable(held, redeemed):
                moves.append(Planned(room_id, Move.RELEASE))
        elif session.state in OCCUPIED and session.booking_ref is not None:
            current = by_ref.get(session.booking_ref)
            if (
                current is not None
                and current.status != BookingStatus.CANCELLED
                and session.ends_at is not None
                and current.ends_at > session.ends_at
                and current.ends_at > now
            ):
                moves.append(Planned(room_id, Move.EXTEND, current.ref, ends_at=float(current.ends_at)))
    return Plan(tuple(moves), next_check)
