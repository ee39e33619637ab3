"""The room session state machine: free -> reserved -> in_use -> ending -> cleaning -> free."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RoomState(StrEnum):
    """Where a room is in its session cycle."""

    FREE = "free"
    RESERVED = "reserved"
    IN_USE = "in_use"
    ENDING = "ending"
    CLEANING = "cleaning"
    MAINTENANCE = "maintenance"


# Every legal move in one place; maintenance is reachable from any state.
TRANSITIONS: dict[RoomState, frozenset[RoomState]] = {
    RoomState.FREE: frozenset({RoomState.RESERVED, RoomState.IN_USE, RoomState.MAINTENANCE}),
    RoomState.RESERVED: frozenset({RoomState.IN_USE, RoomState.FREE, RoomState.MAINTENANCE}),
    RoomState.IN_USE: frozenset({RoomState.ENDING, RoomState.CLEANING, RoomState.MAINTENANCE}),
    RoomState.ENDING: frozenset({RoomState.IN_USE, RoomState.CLEANING, RoomState.MAINTENANCE}),
    RoomState.CLEANING: frozenset({RoomState.FREE, RoomState.MAINTENANCE}),
    RoomState.MAINTENANCE: frozenset({RoomState.FREE}),
}

# States in which a booking's session holds the room.
OCCUPIED: frozenset[RoomState] = frozenset({RoomState.IN_USE, RoomState.ENDING})


@dataclass(frozen=True, slots=True)
class RoomSession:
    """A room's local session state."""

    room_id: str
    state: RoomState = RoomState.FREE
    booking_ref: str | None = None
    started_at: float | None = None
    ends_at: float | None = None


class SessionError(Exception):
    """An illegal session move; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def holds_room(session: RoomSession | None, now: float) -> bool:
    """True while a booking's session occupies its room."""
    if session is None or session.state not in OCCUPIED:
        return False
    # No end-of-session timers run yet: a session past its end no longer holds the room.
    return session.ends_at is None or now < session.ends_at


def effective_state(session: RoomSession | None, now: float) -> RoomState:
    """The state a session is in at `now` (an occupied session past its end counts as free)."""
    if session is None:
        return RoomState.FREE
    if session.state in OCCUPIED and not holds_room(session, now):
        return RoomState.FREE
    return session.state


def check_transition(current: RoomState, target: RoomState) -> RoomState:
    """Return target if the table allows current -> target, else raise SessionError."""
    if target not in TRANSITIONS[current]:
        raise SessionError("illegal_transition", f"room session cannot go from {current} to {target}")
    return target


def start_session(
    session: RoomSession | None, room_id: str, booking_ref: str, now: float, ends_at: float
) -> RoomSession:
    """The session of a booking that has just entered its room (raises SessionError when illegal)."""
    state = check_transition(effective_state(session, now), RoomState.IN_USE)
    return RoomSession(room_id, state, booking_ref, now, ends_at)
