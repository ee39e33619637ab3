"""Room sessions: the state of each room and its one transition table."""

from edge.sessions.model import (
    OCCUPIED,
    TRANSITIONS,
    RoomSession,
    RoomState,
    SessionError,
    check_transition,
    effective_state,
    holds_room,
    start_session,
)

__all__ = [
    "OCCUPIED",
    "TRANSITIONS",
    "RoomSession",
    "RoomState",
    "SessionError",
    "check_transition",
    "effective_state",
    "holds_room",
    "start_session",
]
