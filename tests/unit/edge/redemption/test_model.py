"""Redemption decisions at the edge: every refusal reason, window edges, reentry and the order fallback."""

from __future__ import annotations

import pytest

from edge.clock import FakeClock
from edge.records import Booking, RoomSession
from edge.redemption.model import (
    Decision,
    Reason,
    Redeem,
    Reentry,
    Refuse,
    decide_code,
    decide_order,
    match_order,
)
from edge.sessions.model import RoomState
from protos.codes import CodeClaim

START = 1_800_000_000 - 1_800_000_000 % 60  # a whole minute
END = START + 2 * 3600
GRACE = 900

CLAIM = CodeClaim("s1", 1, "B1", "r1", START, END, START // 60)
BOOKING = Booking("B1", "r1", START, END, "ORD-1", "1234")


def decide(
    clock: FakeClock,
    *,
    claim: CodeClaim = CLAIM,
    scanner_room: str | None = "r1",
    room_exists: bool = True,
    booking: Booking | None = BOOKING,
    session: RoomSession | None = None,
    revocations: tuple[str, ...] = (),
    already_redeemed: bool = False,
) -> Decision:
    return decide_code(
        claim,
        scanner_room=scanner_room,
        room_exists=room_exists,
        booking=booking,
        session=session,
        revocations=revocations,
        already_redeemed=already_redeemed,
        now=clock.now(),
        early_grace_s=GRACE,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START + 60)


def test_a_valid_code_in_its_room_during_the_booking_is_redeemed(clock: FakeClock) -> None:
    assert decide(clock) == Redeem(known=True)


def test_a_code_for_a_booking_the_edge_never_received_is_redeemed_as_unknown(clock: FakeClock) -> None:
    assert decide(clock, booking=None) == Redeem(known=False)


def test_an_entrance_scanner_accepts_a_code_for_any_room(clock: FakeClock) -> None:
    assert decide(clock, scanner_room=None) == Redeem(known=True)


def test_a_code_scanned_at_another_rooms_door_is_refused_as_wrong_room(clock: FakeClock) -> None:
    assert decide(clock, scanner_room="r2") == Refuse(Reason.WRONG_ROOM)


def test_a_code_naming_another_room_than_the_cached_booking_is_refused_as_wrong_room(
    clock: FakeClock,
) -> None:
    moved = Booking("B1", "r2", START, END)
    assert decide(clock, scanner_room=None, booking=moved) == Refuse(Reason.WRONG_ROOM)


def test_a_code_for_a_room_the_store_does_not_have_is_refused(clock: FakeClock) -> None:
    assert decide(clock, scanner_room=None, room_exists=False) == Refuse(Reason.NO_SUCH_ROOM)


def test_a_cancelled_booking_is_refused_as_revoked(clock: FakeClock) -> None:
    cancelled = Booking("B1", "r1", START, END, status="cancelled")
    assert decide(clock, booking=cancelled) == Refuse(Reason.REVOKED)


def test_a_revoked_ref_is_refused_even_when_the_booking_is_not_cached(clock: FakeClock) -> None:
    assert decide(clock, booking=None, revocations=("B1",)) == Refuse(Reason.REVOKED)


def test_the_door_opens_exactly_at_the_early_grace_edge(clock: FakeClock) -> None:
    clock.set(START - GRACE)
    assert decide(clock) == Redeem(known=True)


def test_one_second_before_the_grace_the_code_is_not_yet_valid(clock: FakeClock) -> None:
    clock.set(START - GRACE - 1)
    assert decide(clock) == Refuse(Reason.NOT_YET_VALID)


def test_one_second_before_the_end_the_door_still_opens(clock: FakeClock) -> None:
    clock.set(END - 1)
    assert decide(clock) == Redeem(known=True)


def test_at_the_end_of_the_booking_the_code_is_expired(clock: FakeClock) -> None:
    clock.set(END)
    assert decide(clock) == Refuse(Reason.EXPIRED)


def test_the_cached_booking_window_wins_over_the_codes_window(clock: FakeClock) -> None:
    extended = Booking("B1", "r1", START, END + 3600)
    clock.set(END + 60)
    assert decide(clock, booking=extended) == Redeem(known=True)
    assert decide(clock, booking=None) == Refuse(Reason.EXPIRED)


def test_a_completed_booking_is_expired(clock: FakeClock) -> None:
    assert decide(clock, booking=Booking("B1", "r1", START, END, status="completed")) == Refuse(
        Reason.EXPIRED
    )


def test_the_same_booking_scanned_again_during_its_session_is_a_reentry(clock: FakeClock) -> None:
    session = RoomSession("r1", RoomState.IN_USE, "B1", START, END)
    assert decide(clock, session=session, already_redeemed=True) == Reentry()


def test_an_already_redeemed_booking_whose_session_ended_early_reenters(clock: FakeClock) -> None:
    assert decide(clock, session=RoomSession("r1"), already_redeemed=True) == Reentry()


def test_a_booking_the_cloud_reports_redeemed_reenters(clock: FakeClock) -> None:
    assert decide(clock, booking=Booking("B1", "r1", START, END, status="redeemed")) == Reentry()


def test_another_bookings_session_in_progress_refuses_as_already_in_use(clock: FakeClock) -> None:
    session = RoomSession("r1", RoomState.IN_USE, "B0", START - 3600, START + 600)
    assert decide(clock, session=session) == Refuse(Reason.ALREADY_IN_USE)


def test_another_bookings_session_past_its_end_no_longer_holds_the_room(clock: FakeClock) -> None:
    session = RoomSession("r1", RoomState.IN_USE, "B0", START - 3600, START)
    assert decide(clock, session=session) == Redeem(known=True)


def test_a_room_in_maintenance_is_unavailable(clock: FakeClock) -> None:
    session = RoomSession("r1", RoomState.MAINTENANCE)
    assert decide(clock, session=session) == Refuse(Reason.ROOM_UNAVAILABLE)


def test_wrong_room_is_checked_before_the_window(clock: FakeClock) -> None:
    clock.set(END + 1)
    assert decide(clock, scanner_room="r2") == Refuse(Reason.WRONG_ROOM)


# ---- the order number + phone fallback ----


def test_order_and_phone_digits_find_the_cached_booking(clock: FakeClock) -> None:
    assert match_order([BOOKING], "1234", None, clock.now()) == BOOKING


@pytest.mark.parametrize("digits", ["9999", "123", "12a4", ""])
def test_wrong_or_malformed_phone_digits_are_an_unknown_order(clock: FakeClock, digits: str) -> None:
    assert match_order([BOOKING], digits, None, clock.now()) == Refuse(Reason.UNKNOWN_ORDER)


def test_an_order_not_in_the_cache_is_unknown(clock: FakeClock) -> None:
    assert match_order([], "1234", None, clock.now()) == Refuse(Reason.UNKNOWN_ORDER)
    decision = decide_order(
        None,
        room_id=None,
        room_exists=True,
        session=None,
        already_redeemed=False,
        now=clock.now(),
        early_grace_s=0,
    )
    assert decision == Refuse(Reason.UNKNOWN_ORDER)


def test_an_order_of_two_rooms_needs_the_room(clock: FakeClock) -> None:
    other = Booking("B2", "r2", START, END, "ORD-1", "1234")
    assert match_order([BOOKING, other], "1234", None, clock.now()) == Refuse(Reason.AMBIGUOUS_ORDER)
    assert match_order([BOOKING, other], "1234", "r2", clock.now()) == other


def test_an_order_booking_the_same_room_twice_picks_the_booking_not_yet_over(clock: FakeClock) -> None:
    later = Booking("B3", "r1", END, END + 3600, "ORD-1", "1234")
    clock.set(END + 10)
    assert match_order([BOOKING, later], "1234", None, clock.now()) == later


def test_the_order_fallback_follows_the_same_window_rules(clock: FakeClock) -> None:
    def order_decision(room_id: str | None = None) -> Decision:
        return decide_order(
            BOOKING,
            room_id=room_id,
            room_exists=True,
            session=None,
            already_redeemed=False,
            now=clock.now(),
            early_grace_s=GRACE,
        )

    assert order_decision() == Redeem(known=True)
    assert order_decision("r2") == Refuse(Reason.WRONG_ROOM)
    clock.set(END)
    assert order_decision() == Refuse(Reason.EXPIRED)
    clock.set(START - GRACE - 1)
    assert order_decision() == Refuse(Reason.NOT_YET_VALID)
