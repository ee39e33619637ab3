"""The session transition table, each move's guard, the timers a session needs, settings priority."""

from __future__ import annotations

import pytest

from edge.sessions import model
from edge.sessions.model import (
    TABLE,
    Move,
    RoomSession,
    RoomState,
    SessionError,
    SessionSettings,
    Timer,
    TimerKind,
    check_move,
    parse_room_code,
    plan_timers,
    resolve_settings,
    room_code,
)
from protos.codes import CodeRefused, Refusal

EXPECTED = {
    Move.RESERVE: ({RoomState.FREE}, RoomState.RESERVED),
    Move.RELEASE: ({RoomState.RESERVED}, RoomState.FREE),
    Move.CHECK_IN: ({RoomState.FREE, RoomState.RESERVED}, RoomState.IN_USE),
    Move.WARN: ({RoomState.IN_USE}, RoomState.ENDING),
    Move.EXTEND: ({RoomState.IN_USE, RoomState.ENDING}, RoomState.IN_USE),
    Move.END: ({RoomState.IN_USE, RoomState.ENDING}, RoomState.CLEANING),
    Move.CLEANED: ({RoomState.CLEANING}, RoomState.FREE),
    Move.FAULT: (set(RoomState) - {RoomState.MAINTENANCE}, RoomState.MAINTENANCE),
    Move.RESTORE: ({RoomState.MAINTENANCE}, RoomState.FREE),
}


def test_the_table_holds_exactly_the_documented_moves() -> None:
    assert {move: (set(t.sources), t.target) for move, t in TABLE.items()} == EXPECTED


@pytest.mark.parametrize(("move", "state"), [(m, s) for m in Move for s in RoomState])
def test_every_move_is_allowed_from_its_sources_and_refused_with_a_stable_code_elsewhere(
    move: Move, state: RoomState
) -> None:
    sources, target = EXPECTED[move]
    if state in sources:
        assert check_move(state, move) is target
    else:
        with pytest.raises(SessionError) as refused:
            check_move(state, move)
        assert refused.value.code == "illegal_transition"


def test_a_whole_session_walks_the_cycle() -> None:
    free = RoomSession("r1")
    reserved = model.reserve(free, "B1", 100, 1000, now=50)
    used = model.check_in(reserved, "B1", 120, 1000)
    ending = model.warn(used, 700)
    longer = model.extend(ending, 1600, 750)
    cleaning = model.end(longer, 1600)
    freed = model.cleaned(cleaning, 1700)
    assert [s.state for s in (reserved, used, ending, longer, cleaning, freed)] == [
        RoomState.RESERVED,
        RoomState.IN_USE,
        RoomState.ENDING,
        RoomState.IN_USE,
        RoomState.CLEANING,
        RoomState.FREE,
    ]
    assert (longer.booking_ref, longer.ends_at) == ("B1", 1600)
    assert freed == RoomSession("r1", RoomState.FREE)


def test_an_extension_must_move_the_end_later() -> None:
    used = model.check_in(RoomSession("r1"), "B1", 0, 1000)
    with pytest.raises(SessionError) as refused:
        model.extend(used, 900, 10)
    assert refused.value.code == "not_later"


def test_a_booking_cannot_check_in_after_its_end() -> None:
    with pytest.raises(SessionError) as refused:
        model.check_in(RoomSession("r1"), "B1", 1000, 1000)
    assert refused.value.code == "already_ended"


def test_a_fault_keeps_the_sessions_booking_and_restoring_frees_the_room() -> None:
    used = model.check_in(RoomSession("r1"), "B1", 0, 1000)
    out = model.fault(used, 10)
    assert (out.state, out.booking_ref) == (RoomState.MAINTENANCE, "B1")
    assert model.restore(out, 20) == RoomSession("r1")


SETTINGS = SessionSettings(early_grace_s=600, warning_lead_s=300, cleaning_gap_s=1800)


def test_an_in_use_session_is_warned_before_its_end_and_ended_at_it() -> None:
    used = model.check_in(RoomSession("r1"), "B1", 0, 3600)
    assert plan_timers(used, SETTINGS) == [
        Timer("r1", TimerKind.WARN, 3300, "B1"),
        Timer("r1", TimerKind.END, 3600, "B1"),
    ]


def test_a_session_shorter_than_the_warning_lead_is_not_warned() -> None:
    short = model.check_in(RoomSession("r1"), "B1", 0, 200)
    assert plan_timers(short, SETTINGS) == [Timer("r1", TimerKind.END, 200, "B1")]


@pytest.mark.parametrize(
    ("session", "timers"),
    [
        (RoomSession("r1"), []),
        (
            RoomSession("r1", RoomState.RESERVED, "B1", 100, 900, since=50),
            [Timer("r1", TimerKind.RELEASE, 900, "B1")],
        ),
        (
            RoomSession("r1", RoomState.ENDING, "B1", 0, 900, since=600),
            [Timer("r1", TimerKind.END, 900, "B1")],
        ),
        (
            RoomSession("r1", RoomState.CLEANING, "B1", 0, 900, since=900),
            [Timer("r1", TimerKind.CLEANING_OVERDUE, 2700, "B1")],
        ),
        (RoomSession("r1", RoomState.MAINTENANCE, "B1", 0, 900, since=10), []),
    ],
)
def test_each_state_plans_its_own_timers(session: RoomSession, timers: list[Timer]) -> None:
    assert plan_timers(session, SETTINGS) == timers


def test_settings_take_the_store_first_then_the_room_type_then_the_chain_then_local() -> None:
    store = {"warning_lead_min": 2}
    room_type = {"warning_lead_min": 3, "cleaning_gap_min": 10}
    chain = {"warning_lead_min": 4, "cleaning_gap_min": 20, "early_grace_s": 60}
    local = SessionSettings(early_grace_s=900, warning_lead_s=600, cleaning_gap_s=600)
    assert resolve_settings(store, room_type, chain, base=local) == SessionSettings(60, 120, 600)
    assert resolve_settings({}, {}, {}, base=local) == local


def test_settings_out_of_range_or_of_the_wrong_type_fall_through_to_the_next_level() -> None:
    resolved = resolve_settings({"warning_lead_min": -1}, {"warning_lead_min": True}, {"warning_lead_min": 7})
    assert resolved.warning_lead_s == 420


def test_a_rooms_qr_is_the_sealed_one_and_garbage_or_the_old_unsealed_form_is_malformed() -> None:
    claim, _mac = parse_room_code(room_code(b"k" * 32, 3, "s-1", "r-2"))
    assert (claim.store_id, claim.room_id, claim.key_version) == ("s-1", "r-2", 3)
    for text in (
        "",
        "GHROOM",
        "GHROOM.s1",
        "GHROOM..r1",
        "GHROOM.s1.r1",  # the unsealed form of old sheets
        "GHROOM.s1.r1.x",
        "ROOM.s1.r1",
        "GHROOM.s." + "r" * 65,
    ):
        with pytest.raises(CodeRefused) as refused:
            parse_room_code(text)
        assert refused.value.reason is Refusal.MALFORMED
