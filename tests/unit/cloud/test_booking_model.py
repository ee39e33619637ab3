"""Pure booking rules: the overlap rule, the status machine, booking windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.booking.model import (
    TRANSITIONS,
    BookingStatus,
    InvalidTransition,
    Slot,
    TimeRange,
    can_transition,
    check_window,
    code_validity,
    find_conflict,
    overlaps,
    phone_last4,
    slot_taken,
    transition,
)
from cloud.errors import Invalid

T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


def rng(start_min: int, end_min: int) -> TimeRange:
    return TimeRange(T0 + timedelta(minutes=start_min), T0 + timedelta(minutes=end_min))


def test_ranges_that_share_an_instant_overlap() -> None:
    assert overlaps(rng(0, 60), rng(30, 90))
    assert overlaps(rng(0, 60), rng(10, 20))
    assert overlaps(rng(10, 20), rng(0, 60))
    assert overlaps(rng(0, 60), rng(0, 60))


def test_adjacent_half_open_ranges_do_not_overlap() -> None:
    assert not overlaps(rng(0, 60), rng(60, 120))
    assert not overlaps(rng(60, 120), rng(0, 60))
    assert not overlaps(rng(0, 60), rng(90, 120))


@given(st.integers(0, 500), st.integers(1, 300), st.integers(0, 500), st.integers(1, 300))
def test_overlap_is_symmetric_and_matches_interval_arithmetic(a: int, alen: int, b: int, blen: int) -> None:
    first, second = rng(a, a + alen), rng(b, b + blen)
    assert overlaps(first, second) == overlaps(second, first)
    assert overlaps(first, second) == (max(a, b) < min(a + alen, b + blen))


def test_the_earliest_conflicting_slot_is_named() -> None:
    taken = [Slot("B2", rng(120, 180)), Slot("B1", rng(30, 90)), Slot("B3", rng(300, 360))]
    conflict = find_conflict(rng(60, 150), taken)
    assert conflict is not None and conflict.ref == "B1"
    assert find_conflict(rng(180, 300), taken) is None


def test_slot_taken_names_the_conflicting_range() -> None:
    error = slot_taken(Slot("B1", rng(0, 60)))
    assert error.code == "slot_taken"
    assert error.extra["conflict"] == {
        "starts_at": "2030-01-01T10:00:00+00:00",
        "ends_at": "2030-01-01T11:00:00+00:00",
    }


def test_the_transition_table_allows_exactly_the_documented_moves() -> None:
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert legal == {
        (BookingStatus.CONFIRMED, BookingStatus.REDEEMED),
        (BookingStatus.CONFIRMED, BookingStatus.CANCELLED),
        (BookingStatus.REDEEMED, BookingStatus.COMPLETED),
    }
    assert set(TRANSITIONS) == set(BookingStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (BookingStatus.CANCELLED, BookingStatus.CONFIRMED),
        (BookingStatus.REDEEMED, BookingStatus.CANCELLED),
        (BookingStatus.COMPLETED, BookingStatus.REDEEMED),
        (BookingStatus.CONFIRMED, BookingStatus.COMPLETED),
    ],
)
def test_illegal_moves_raise_invalid_transition(current: BookingStatus, target: BookingStatus) -> None:
    assert not can_transition(current, target)
    with pytest.raises(InvalidTransition) as err:
        transition(current, target)
    assert err.value.code == "invalid_transition"


def test_a_legal_move_returns_the_new_status() -> None:
    assert transition(BookingStatus.CONFIRMED, BookingStatus.REDEEMED) is BookingStatus.REDEEMED


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


def test_the_last_four_digits_ignore_formatting() -> None:
    assert phone_last4("+86 138-0013-1234") == "1234"
    with pytest.raises(Invalid):
        phone_last4("12-3")


def test_a_code_stays_valid_until_three_minutes_after_its_minute() -> None:
    assert code_validity(6000.0) == (180, 60)
    assert code_validity(6059.5) == (120, 0)
