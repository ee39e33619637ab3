"""The room session state machine: one table of legal moves, and when a session holds its room."""

from __future__ import annotations

import pytest

from edge.sessions.model import (
    TRANSITIONS,
    RoomSession,
    RoomState,
    SessionError,
    check_transition,
    effective_state,
    holds_room,
    start_session,
)


def test_the_cycle_free_reserved_in_use_ending_cleaning_free_is_legal() -> None:
    cycle = [RoomState.FREE, RoomState.RESERVED, RoomState.IN_USE, RoomState.ENDING, RoomState.CLEANING]
    for current, target in zip(cycle, [*cycle[1:], RoomState.FREE], strict=True):
        assert check_transition(current, target) is target


def test_maintenance_is_reachable_from_every_state() -> None:
    for state in RoomState:
        if state is not RoomState.MAINTENANCE:
            assert RoomState.MAINTENANCE in TRANSITIONS[state]


def test_an_illegal_move_raises_a_stable_code() -> None:
    with pytest.raises(SessionError) as caught:
        check_transition(RoomState.CLEANING, RoomState.IN_USE)
    assert caught.value.code == "illegal_transition"


def test_an_occupied_session_holds_its_room_until_its_end() -> None:
    session = RoomSession("r1", RoomState.IN_USE, "B1", 0, 100)
    assert holds_room(session, 99.9)
    assert not holds_room(session, 100)
    assert effective_state(session, 100) is RoomState.FREE


def test_a_new_booking_may_start_after_a_previous_session_ran_past_its_end() -> None:
    stale = RoomSession("r1", RoomState.IN_USE, "B0", 0, 100)
    started = start_session(stale, "r1", "B1", 150, 300)
    assert started == RoomSession("r1", RoomState.IN_USE, "B1", 150, 300)


def test_a_session_cannot_start_in_a_room_being_cleaned() -> None:
    with pytest.raises(SessionError):
        start_session(RoomSession("r1", RoomState.CLEANING), "r1", "B1", 0, 100)
