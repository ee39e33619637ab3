"""The room session state machine: free -> reserved -> in_use -> ending -> cleaning -> free (pure rules).

Every legal move is one row of `TABLE`; each move has one guarded function that checks the table
and raises `SessionError` with a stable code. Timers are a pure function of the session
(`plan_timers`): the store writes them with the session, in the same transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# The room QR is protos.codes' (re-exported here for the edge's callers).
from protos.codes import ROOM_PREFIX as ROOM_PREFIX
from protos.codes import is_room_code as is_room_code
from protos.codes import parse_room_code as parse_room_code
from protos.codes import room_code as room_code
from protos.codes import verify_room_code as verify_room_code


class RoomState(StrEnum):
    """Where a room is in its session cycle."""

    FREE = "free"
    RESERVED = "reserved"
    IN_USE = "in_use"
    ENDING = "ending"
    CLEANING = "cleaning"
    MAINTENANCE = "maintenance"


class Move(StrEnum):
    """The named moves of a room session."""

    RESERVE = "reserve"  # a booking's window opened: the room is held for it
    RELEASE = "release"  # the reserved booking ended unredeemed (or was cancelled)
    CHECK_IN = "check_in"  # a redemption opened the door: the session starts
    WARN = "warn"  # the end is near: lights flash, the speaker says so
    EXTEND = "extend"  # the end moved later
    END = "end"  # the end came: power off, lock, cleaning task
    CLEANED = "cleaned"  # the cleaner scanned the room's QR
    FAULT = "fault"  # a critical device of the room faulted
    RESTORE = "restore"  # the fault was resolved: back in service


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: the states a move may start from, and where it leads."""

    sources: frozenset[RoomState]
    target: RoomState


_ALL_BUT_MAINTENANCE = frozenset(RoomState) - {RoomState.MAINTENANCE}

# Every legal move in one place; maintenance is reachable from any state.
TABLE: Mapping[Move, Transition] = {
    Move.RESERVE: Transition(frozenset({RoomState.FREE}), RoomState.RESERVED),
    Move.RELEASE: Transition(frozenset({RoomState.RESERVED}), RoomState.FREE),
    Move.CHECK_IN: Transition(frozenset({RoomState.FREE, RoomState.RESERVED}), RoomState.IN_USE),
    Move.WARN: Transition(frozenset({RoomState.IN_USE}), RoomState.ENDING),
    Move.EXTEND: Transition(frozenset({RoomState.IN_USE, RoomState.ENDING}), RoomState.IN_USE),
    Move.END: Transition(frozenset({RoomState.IN_USE, RoomState.ENDING}), RoomState.CLEANING),
    Move.CLEANED: Transition(frozenset({RoomState.CLEANING}), RoomState.FREE),
    Move.FAULT: Transition(_ALL_BUT_MAINTENANCE, RoomState.MAINTENANCE),
    Move.RESTORE: Transition(frozenset({RoomState.MAINTENANCE}), RoomState.FREE),
}


def _targets() -> dict[RoomState, frozenset[RoomState]]:
    targets: dict[RoomState, set[RoomState]] = {state: set() for state in RoomState}
    for transition in TABLE.values():
        for source in transition.sources:
            targets[source].add(transition.target)
    return {state: frozenset(found) for state, found in targets.items()}


# The same table seen by state: where each state may go (derived, not a second table).
TRANSITIONS: Mapping[RoomState, frozenset[RoomState]] = _targets()

# States in which a booking's session holds the room.
OCCUPIED: frozenset[RoomState] = frozenset({RoomState.IN_USE, RoomState.ENDING})


@dataclass(frozen=True, slots=True)
class RoomSession:
    """A room's local session state; `since` is when the current state was entered."""

    room_id: str
    state: RoomState = RoomState.FREE
    booking_ref: str | None = None
    started_at: float | None = None
    ends_at: float | None = None
    # Bookkeeping for timers, not part of a session's identity.
    since: float | None = field(default=None, compare=False)


class SessionError(Exception):
    """An illegal session move; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def holds_room(session: RoomSession | None, now: float) -> bool:
    """True while a booking's session occupies its room."""
    if session is None or session.state not in OCCUPIED:
        return False
    # An occupied session past its end whose end timer has not run yet no longer holds the room.
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


def check_move(current: RoomState, move: Move) -> RoomState:
    """The state `move` leads to from `current`, or SessionError("illegal_transition")."""
    transition = TABLE[move]
    if current not in transition.sources:
        raise SessionError("illegal_transition", f"room session cannot {move} from {current}")
    return transition.target


# ---- one guarded function per move ----


def reserve(
    session: RoomSession, booking_ref: str, starts_at: float, ends_at: float, now: float
) -> RoomSession:
    """Hold a free room for a booking whose window is open."""
    state = check_move(session.state, Move.RESERVE)
    return RoomSession(session.room_id, state, booking_ref, starts_at, ends_at, now)


def release(session: RoomSession, now: float) -> RoomSession:
    """Free a room whose reserved booking ended unredeemed or was cancelled."""
    state = check_move(session.state, Move.RELEASE)
    return RoomSession(session.room_id, state, None, None, None, now)


def check_in(session: RoomSession, booking_ref: str, now: float, ends_at: float) -> RoomSession:
    """The session of a booking that has just entered its room."""
    if ends_at <= now:
        raise SessionError("already_ended", f"booking {booking_ref} ended before it checked in")
    state = check_move(effective_state(session, now), Move.CHECK_IN)
    return RoomSession(session.room_id, state, booking_ref, now, ends_at, now)


def start_session(
    session: RoomSession | None, room_id: str, booking_ref: str, now: float, ends_at: float
) -> RoomSession:
    """The session of a booking that has just entered its room (raises SessionError when illegal)."""
    return check_in(session or RoomSession(room_id), booking_ref, now, ends_at)


def warn(session: RoomSession, now: float) -> RoomSession:
    """The end is near: the session is ending."""
    state = check_move(session.state, Move.WARN)
    return dataclasses.replace(session, state=state, since=now)


def extend(session: RoomSession, ends_at: float, now: float) -> RoomSession:
    """Move the session's end later (an ending session is in use again)."""
    state = check_move(session.state, Move.EXTEND)
    if session.ends_at is not None and ends_at <= session.ends_at:
        raise SessionError("not_later", "an extension must move the end later")
    if ends_at <= now:
        raise SessionError("not_later", "an extension must end in the future")
    since = session.since if session.state is RoomState.IN_USE else now
    return dataclasses.replace(session, state=state, ends_at=ends_at, since=since)


def end(session: RoomSession, now: float) -> RoomSession:
    """The session is over: the room waits for its cleaner."""
    state = check_move(session.state, Move.END)
    return dataclasses.replace(session, state=state, since=now)


def cleaned(session: RoomSession, now: float) -> RoomSession:
    """The cleaner is done: the room is free."""
    state = check_move(session.state, Move.CLEANED)
    return RoomSession(session.room_id, state, None, None, None, now)


def fault(session: RoomSession, now: float) -> RoomSession:
    """A critical device of the room faulted: out of service (the booking is kept for the record)."""
    state = check_move(session.state, Move.FAULT)
    return dataclasses.replace(session, state=state, since=now)


def restore(session: RoomSession, now: float) -> RoomSession:
    """The fault was resolved: back in service, free."""
    state = check_move(session.state, Move.RESTORE)
    return RoomSession(session.room_id, state, None, None, None, now)


# ---- timers ----


class TimerKind(StrEnum):
    """What a session timer does when it is due."""

    RELEASE = "release"  # reserved -> free at the booking's end
    WARN = "warn"  # in_use -> ending, warning lead before the end
    END = "end"  # power off, lock, -> cleaning
    CLEANING_OVERDUE = "cleaning_overdue"  # cleaning took longer than the cleaning gap: tell the manager


@dataclass(frozen=True, slots=True)
class Timer:
    """A due time of a room (at most one per kind), for the session of `booking_ref`."""

    room_id: str
    kind: TimerKind
    due_at: float
    booking_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """The session rules of one room, resolved store > room type > chain > local > built-in."""

    early_grace_s: int = 900
    warning_lead_s: int = 300
    cleaning_gap_s: int = 1800


def plan_timers(session: RoomSession, settings: SessionSettings) -> list[Timer]:
    """The timers a session needs in its current state."""
    room, ref = session.room_id, session.booking_ref
    match session.state:
        case RoomState.RESERVED if session.ends_at is not None:
            return [Timer(room, TimerKind.RELEASE, session.ends_at, ref)]
        case RoomState.IN_USE if session.ends_at is not None:
            timers = []
            warn_at = session.ends_at - settings.warning_lead_s
            entered = session.since if session.since is not None else session.started_at
            # No warning for a session shorter than the lead: it would flash the lights on entry.
            if settings.warning_lead_s > 0 and (entered is None or warn_at > entered):
                timers.append(Timer(room, TimerKind.WARN, warn_at, ref))
            timers.append(Timer(room, TimerKind.END, session.ends_at, ref))
            return timers
        case RoomState.ENDING if session.ends_at is not None:
            return [Timer(room, TimerKind.END, session.ends_at, ref)]
        case RoomState.CLEANING if settings.cleaning_gap_s > 0 and session.since is not None:
            return [Timer(room, TimerKind.CLEANING_OVERDUE, session.since + settings.cleaning_gap_s, ref)]
        case _:
            return []


# ---- settings priority ----

SETTING_KEYS: Mapping[str, str] = {
    # setting key in store data -> SessionSettings field; minutes are turned into seconds
    "early_grace_s": "early_grace_s",
    "warning_lead_min": "warning_lead_s",
    "cleaning_gap_min": "cleaning_gap_s",
}
_SCALE: Mapping[str, int] = {"early_grace_s": 1, "warning_lead_min": 60, "cleaning_gap_min": 60}
_LIMITS: Mapping[str, tuple[int, int]] = {
    "early_grace_s": (0, 6 * 3600),
    "warning_lead_min": (0, 240),
    "cleaning_gap_min": (0, 240),
}


def resolve_settings(
    *layers: Mapping[str, int], base: SessionSettings = SessionSettings()
) -> SessionSettings:
    """The first value given, highest priority first (store, room type, chain, local), over `base`.

    Values of unknown keys, of the wrong type or out of range are ignored (the next layer decides).
    """
    values: dict[str, int] = {}
    for key, field_name in SETTING_KEYS.items():
        low, high = _LIMITS[key]
        for layer in layers:
            raw = layer.get(key)
            if isinstance(raw, int) and not isinstance(raw, bool) and low <= raw <= high:
                values[field_name] = raw * _SCALE[key]
                break
    return dataclasses.replace(base, **values)


# ---- the room's QR (cleaning) ----

# Sealed with the store key (protos.codes: GHROOM.<store>.<room>.<key version>.<mac>): the edge
# verifies it with the keys it holds, so a code typed up from the ids alone is refused.
ROOM_CODE_PREFIX = ROOM_PREFIX
