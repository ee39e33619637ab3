"""Pure booking rules: life cycle table, overlap with cleaning gaps, request checks, refunds, timelines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.booking.model import (
    OCCUPYING,
    TRANSITIONS,
    BookingInfo,
    BookingStatus,
    HoldExpired,
    InvalidTransition,
    Occupant,
    Occupation,
    RescheduleClosed,
    Slot,
    SlotState,
    TimeRange,
    Venue,
    booking_occupations,
    can_transition,
    check_request,
    check_reschedule,
    check_window,
    closed_occupations,
    code_validity,
    edge_status,
    find_conflict,
    is_live_hold,
    occupied,
    overlaps,
    phone_last4,
    refund_for,
    slot_taken,
    tells_edge,
    timeline,
    transition,
)
from cloud.errors import Invalid
from cloud.rules.model import CancellationTier, Level, resolve
from cloud.tenancy.model import ALWAYS_OPEN, parse_opening_hours

S = BookingStatus
T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = resolve({})  # 15-day window, 60 min minimum, 30 min steps, 30 min cleaning, 15 min holds
VENUE = Venue(SHANGHAI, ALWAYS_OPEN, frozenset(), capacity_min=2, capacity_max=4)


def rng(start_min: int, end_min: int) -> TimeRange:
    return TimeRange(T0 + timedelta(minutes=start_min), T0 + timedelta(minutes=end_min))


# --- the life cycle ---------------------------------------------------------------------------


def test_the_transition_table_allows_exactly_the_documented_moves() -> None:
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert legal == {
        (S.HELD, S.CONFIRMED),
        (S.HELD, S.EXPIRED),
        (S.HELD, S.CANCELLED),
        (S.CONFIRMED, S.REDEEMED),
        (S.CONFIRMED, S.CANCELLED),
        (S.REDEEMED, S.COMPLETED),
        (S.CANCELLED, S.REFUNDED),
    }
    assert set(TRANSITIONS) == set(BookingStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CANCELLED, S.CONFIRMED),
        (S.EXPIRED, S.CONFIRMED),
        (S.REDEEMED, S.CANCELLED),
        (S.COMPLETED, S.REDEEMED),
        (S.CONFIRMED, S.COMPLETED),
        (S.HELD, S.REDEEMED),
        (S.REFUNDED, S.CANCELLED),
    ],
)
def test_illegal_moves_raise_invalid_transition_naming_both_ends(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(InvalidTransition) as err:
        transition(current, target)
    assert err.value.code == "invalid_transition"
    assert err.value.extra == {"from": current.value, "to": target.value}


def test_a_legal_move_returns_the_new_status() -> None:
    assert transition(S.HELD, S.CONFIRMED) is S.CONFIRMED


def test_final_statuses_lead_nowhere_and_only_live_ones_occupy_time() -> None:
    assert all(not TRANSITIONS[s] for s in (S.COMPLETED, S.EXPIRED, S.REFUNDED))
    assert {S.HELD, S.CONFIRMED, S.REDEEMED, S.COMPLETED} == OCCUPYING


def test_a_refunded_booking_is_cancelled_for_the_edge_and_holds_never_reach_it() -> None:
    assert edge_status(S.REFUNDED) == "cancelled"
    info = BookingInfo("B1", "r1", T0, T0 + timedelta(hours=1), "123", "4321", S.REFUNDED)
    assert info.payload()["status"] == "cancelled"
    assert edge_status(S.CONFIRMED) == "confirmed"


def test_the_edge_hears_of_a_booking_at_confirmation_and_of_every_change_it_can_see() -> None:
    assert tells_edge(S.HELD, S.CONFIRMED)
    assert not tells_edge(S.HELD, S.CANCELLED) and not tells_edge(S.HELD, S.EXPIRED)
    assert tells_edge(S.CONFIRMED, S.CANCELLED) and tells_edge(S.CONFIRMED, S.REDEEMED)
    assert tells_edge(S.REDEEMED, S.COMPLETED)
    assert not tells_edge(S.CANCELLED, S.REFUNDED)


def test_a_hold_blocks_until_its_deadline_and_not_after() -> None:
    deadline = T0 + timedelta(minutes=15)
    assert is_live_hold(S.HELD, deadline, T0 + timedelta(minutes=14, seconds=59))
    assert not is_live_hold(S.HELD, deadline, deadline)
    assert not is_live_hold(S.CONFIRMED, None, T0)


# --- overlap and the cleaning gap ---------------------------------------------------------------


def test_ranges_that_share_an_instant_overlap_and_adjacent_ones_do_not() -> None:
    assert overlaps(rng(0, 60), rng(30, 90))
    assert overlaps(rng(10, 20), rng(0, 60))
    assert not overlaps(rng(0, 60), rng(60, 120))
    assert not overlaps(rng(60, 120), rng(0, 60))


@given(st.integers(0, 500), st.integers(1, 300), st.integers(0, 500), st.integers(1, 300))
def test_overlap_is_symmetric_and_matches_interval_arithmetic(a: int, alen: int, b: int, blen: int) -> None:
    first, second = rng(a, a + alen), rng(b, b + blen)
    assert overlaps(first, second) == overlaps(second, first)
    assert overlaps(first, second) == (max(a, b) < min(a + alen, b + blen))


def test_the_cleaning_gap_is_part_of_the_occupied_range() -> None:
    booked = Slot("B1", rng(0, 60), occupied(rng(0, 60), 30))
    assert booked.taken == rng(0, 90)
    assert find_conflict(occupied(rng(60, 120), 30), [booked]) is booked, "starts during the cleaning"
    assert find_conflict(occupied(rng(90, 150), 30), [booked]) is None, "starts once cleaning is over"
    # A new booking's own cleaning may not run into the next booking either.
    later = Slot("B2", rng(120, 180), occupied(rng(120, 180), 30))
    assert find_conflict(occupied(rng(60, 100), 30), [later]) is later
    assert find_conflict(occupied(rng(60, 90), 30), [later]) is None


@given(
    st.integers(0, 600), st.integers(1, 240), st.integers(0, 120), st.integers(0, 600), st.integers(1, 240)
)
def test_two_bookings_conflict_exactly_when_their_occupied_ranges_overlap(
    a: int, alen: int, gap: int, b: int, blen: int
) -> None:
    first = Slot("A", rng(a, a + alen), occupied(rng(a, a + alen), gap))
    wanted = occupied(rng(b, b + blen), gap)
    expected = max(a, b) < min(a + alen + gap, b + blen + gap)
    assert (find_conflict(wanted, [first]) is not None) == expected


def test_the_earliest_conflicting_slot_is_named() -> None:
    taken = [Slot("B2", rng(120, 180)), Slot("B1", rng(30, 90)), Slot("B3", rng(300, 360))]
    conflict = find_conflict(rng(60, 150), taken)
    assert conflict is not None and conflict.ref == "B1"
    assert find_conflict(rng(180, 300), taken) is None


def test_slot_taken_names_the_conflicting_range_and_where_its_cleaning_ends() -> None:
    error = slot_taken(Slot("B1", rng(0, 60), rng(0, 90)))
    assert error.code == "slot_taken" and error.field == "starts_at"
    assert error.extra["conflict"] == {
        "starts_at": "2030-01-01T10:00:00+00:00",
        "ends_at": "2030-01-01T11:00:00+00:00",
        "occupied_until": "2030-01-01T11:30:00+00:00",
        "kind": "booking",
    }
    blocked = slot_taken(Slot("blk-1", rng(0, 60), None, Occupant.BLOCK))
    assert blocked.extra["conflict"]["kind"] == "block" and "blocked" in blocked.detail


# --- request checks ------------------------------------------------------------------------------


def test_a_window_is_normalised_to_utc() -> None:
    plus8 = timezone(timedelta(hours=8))
    window = check_window(
        datetime(2030, 1, 1, 18, 0, tzinfo=plus8), datetime(2030, 1, 1, 19, 0, tzinfo=plus8)
    )
    assert window == rng(0, 60)
    assert window.start.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "end", "code", "field"),
    [
        (T0, T0, "empty_window", "ends_at"),
        (T0, T0 - timedelta(minutes=5), "empty_window", "ends_at"),
        (T0 + timedelta(seconds=30), T0 + timedelta(hours=1), "not_whole_minute", "starts_at"),
        (T0, T0 + timedelta(hours=1, microseconds=1), "not_whole_minute", "ends_at"),
        (T0.replace(tzinfo=None), T0 + timedelta(hours=1), "naive_datetime", "starts_at"),
        (T0, T0 + timedelta(days=3), "window_too_long", "ends_at"),
    ],
)
def test_bad_windows_are_refused_with_a_code_and_field(
    start: datetime, end: datetime, code: str, field: str
) -> None:
    with pytest.raises(Invalid) as err:
        check_window(start, end)
    assert (err.value.code, err.value.field) == (code, field)


NOW = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=SHANGHAI)


def check(
    start: datetime,
    end: datetime,
    *,
    venue: Venue = VENUE,
    party: int | None = 2,
    on_grid: bool = True,
    backdate: timedelta = timedelta(0),
) -> None:
    check_request(
        TimeRange(start.astimezone(UTC), end.astimezone(UTC)),
        now=NOW,
        rules=RULES,
        venue=venue,
        party_size=party,
        on_grid=on_grid,
        backdate=backdate,
    )


def test_a_request_that_meets_every_rule_passes() -> None:
    check(local(1, 14), local(1, 15, 30))
    check(local(16, 9), local(16, 10))  # still inside the 15-day window


@pytest.mark.parametrize(
    ("start", "end", "code", "field"),
    [
        (local(1, 9), local(1, 10), "starts_in_past", "starts_at"),
        (local(17, 12), local(17, 13), "beyond_window", "starts_at"),
        (local(1, 14), local(1, 14, 30), "too_short", "ends_at"),
        (local(1, 14), local(1, 15, 10), "off_step", "ends_at"),
        (local(1, 14, 10), local(1, 15, 10), "off_grid", "starts_at"),
    ],
)
def test_requests_breaking_a_rule_are_refused_with_its_code(
    start: datetime, end: datetime, code: str, field: str
) -> None:
    with pytest.raises(Invalid) as err:
        check(start, end)
    assert (err.value.code, err.value.field) == (code, field)


def test_an_operator_booking_may_start_off_the_grid_and_a_few_minutes_ago() -> None:
    now_floor = NOW.astimezone(SHANGHAI) - timedelta(minutes=3)
    check(now_floor, now_floor + timedelta(hours=1), on_grid=False, backdate=timedelta(minutes=5))
    with pytest.raises(Invalid) as err:
        check(now_floor, now_floor + timedelta(hours=1), on_grid=False)
    assert err.value.code == "starts_in_past"


@pytest.mark.parametrize(
    ("party", "code"), [(5, "party_too_large"), (1, "party_too_small"), (0, "invalid_party_size")]
)
def test_a_party_must_fit_the_room(party: int, code: str) -> None:
    with pytest.raises(Invalid) as err:
        check(local(1, 14), local(1, 15), party=party)
    assert (err.value.code, err.value.field) == (code, "party_size")
    check(local(1, 14), local(1, 15), party=None)  # an operator may leave it out


def test_bookings_must_fall_inside_opening_hours_including_overnight_ones() -> None:
    hours = parse_opening_hours(
        {day: ["10:00-02:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    venue = Venue(SHANGHAI, hours, frozenset(), 2, 4)
    check(local(1, 23), local(2, 1), venue=venue)  # across midnight, inside 10:00-02:00
    with pytest.raises(Invalid) as err:
        check(local(2, 1), local(2, 3), venue=venue)
    assert (err.value.code, err.value.field) == ("outside_opening_hours", "ends_at")
    with pytest.raises(Invalid) as err:
        check(local(2, 3), local(2, 4), venue=venue)
    assert (err.value.code, err.value.field) == ("outside_opening_hours", "starts_at")


def test_a_closed_day_refuses_bookings_with_store_closed() -> None:
    venue = Venue(SHANGHAI, ALWAYS_OPEN, frozenset({date(2030, 1, 3)}), 2, 4)
    with pytest.raises(Invalid) as err:
        check(local(3, 12), local(3, 13), venue=venue)
    assert err.value.code == "store_closed"
    with pytest.raises(Invalid) as err:
        check(local(2, 23), local(3, 1), venue=venue)
    assert err.value.code == "outside_opening_hours"
    check(local(2, 22), local(2, 23, 30), venue=venue)


def test_the_settings_of_a_store_change_what_a_request_must_meet() -> None:
    rules = resolve({Level.STORE: {"min_duration_min": 120, "step_min": 60, "booking_window_days": 2}})
    window = TimeRange(local(1, 14).astimezone(UTC), local(1, 16).astimezone(UTC))
    check_request(window, now=NOW, rules=rules, venue=VENUE, party_size=2, on_grid=True)
    with pytest.raises(Invalid):
        check_request(
            TimeRange(local(1, 14).astimezone(UTC), local(1, 15, 30).astimezone(UTC)),
            now=NOW,
            rules=rules,
            venue=VENUE,
            party_size=2,
            on_grid=True,
        )


# --- cancellation and reschedule -----------------------------------------------------------------

TIERS = (CancellationTier(120, 100), CancellationTier(30, 50))


@pytest.mark.parametrize(
    ("minutes_before", "pct", "amount"),
    [(600, 100, 9999), (120, 100, 9999), (119, 50, 5000), (30, 50, 5000), (29, 0, 0), (-10, 0, 0)],
)
def test_the_refund_follows_the_first_tier_whose_notice_is_met(
    minutes_before: int, pct: int, amount: int
) -> None:
    starts_at = T0 + timedelta(minutes=minutes_before)
    refund = refund_for(9999, TIERS, starts_at, T0)
    assert (refund.pct, refund.amount, refund.minutes_before) == (pct, amount, minutes_before)


def test_refunds_round_half_up_to_the_fen() -> None:
    assert refund_for(101, (CancellationTier(0, 50),), T0 + timedelta(hours=1), T0).amount == 51
    assert refund_for(0, TIERS, T0 + timedelta(days=1), T0).amount == 0


def test_a_confirmed_booking_moves_until_the_notice_and_a_redeemed_one_never() -> None:
    start = T0 + timedelta(hours=2)
    check_reschedule(S.CONFIRMED, start, 60, T0)
    check_reschedule(S.HELD, start, 60, start)  # a hold is not yet promised to anyone
    with pytest.raises(RescheduleClosed):
        check_reschedule(S.CONFIRMED, start, 60, start - timedelta(minutes=59))
    with pytest.raises(RescheduleClosed) as err:
        check_reschedule(S.REDEEMED, start, 60, T0)
    assert err.value.code == "reschedule_closed"


def test_moving_an_expired_hold_says_the_hold_expired_however_it_was_expired() -> None:
    # Found by the state machine: a hold expired by another booking's transaction (or the sweeper)
    # answered "reschedule_closed", one not yet marked "hold_expired".
    with pytest.raises(HoldExpired) as err:
        check_reschedule(S.EXPIRED, T0 + timedelta(hours=2), 60, T0)
    assert err.value.code == "hold_expired"


# --- timelines -----------------------------------------------------------------------------------


def test_a_timeline_shows_each_state_once_with_the_booked_time_before_its_cleaning() -> None:
    day = rng(0, 24 * 60)
    items = [
        *booking_occupations("B1", S.CONFIRMED, rng(60, 120), T0 + timedelta(minutes=150)),
        *booking_occupations("B2", S.HELD, rng(300, 360), T0 + timedelta(minutes=360)),
        Occupation(SlotState.BLOCKED, rng(600, 720), "blk-1", "Film"),
        Occupation(SlotState.MAINTENANCE, rng(800, 860), "blk-2"),
    ]
    segments = timeline(day, items)
    assert [(s.state, s.start, s.end, s.ref) for s in segments] == [
        (SlotState.FREE, T0, T0 + timedelta(minutes=60), None),
        (SlotState.BOOKED, T0 + timedelta(minutes=60), T0 + timedelta(minutes=120), "B1"),
        (SlotState.CLEANING, T0 + timedelta(minutes=120), T0 + timedelta(minutes=150), "B1"),
        (SlotState.FREE, T0 + timedelta(minutes=150), T0 + timedelta(minutes=300), None),
        (SlotState.HELD, T0 + timedelta(minutes=300), T0 + timedelta(minutes=360), "B2"),
        (SlotState.FREE, T0 + timedelta(minutes=360), T0 + timedelta(minutes=600), None),
        (SlotState.BLOCKED, T0 + timedelta(minutes=600), T0 + timedelta(minutes=720), "blk-1"),
        (SlotState.FREE, T0 + timedelta(minutes=720), T0 + timedelta(minutes=800), None),
        (SlotState.MAINTENANCE, T0 + timedelta(minutes=800), T0 + timedelta(minutes=860), "blk-2"),
        (SlotState.FREE, T0 + timedelta(minutes=860), day.end, None),
    ]
    assert segments[6].title == "Film"


def test_a_booking_clashing_with_a_block_stays_visible_and_closed_hours_show() -> None:
    day = rng(0, 24 * 60)
    closed = closed_occupations(day, [(T0 + timedelta(hours=2), T0 + timedelta(hours=20))])
    items = [
        *closed,
        Occupation(SlotState.BLOCKED, rng(180, 300)),
        *booking_occupations("B", S.CONFIRMED, rng(240, 270), T0 + timedelta(minutes=270)),
    ]
    states = [(s.state, s.start - T0) for s in timeline(day, items)]
    assert states == [
        (SlotState.CLOSED, timedelta(0)),
        (SlotState.FREE, timedelta(hours=2)),
        (SlotState.BLOCKED, timedelta(hours=3)),
        (SlotState.BOOKED, timedelta(hours=4)),
        (SlotState.BLOCKED, timedelta(hours=4, minutes=30)),
        (SlotState.FREE, timedelta(hours=5)),
        (SlotState.CLOSED, timedelta(hours=20)),
    ]


# --- the rest of the skeleton ---------------------------------------------------------------------


def test_the_last_four_digits_ignore_formatting() -> None:
    assert phone_last4("+86 138-0013-1234") == "1234"
    with pytest.raises(Invalid):
        phone_last4("12-3")


def test_a_code_stays_valid_until_three_minutes_after_its_minute() -> None:
    assert code_validity(6000.0) == (180, 60)
    assert code_validity(6059.5) == (120, 0)
