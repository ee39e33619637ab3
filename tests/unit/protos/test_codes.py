"""The redemption code scheme: rotation, validity, skew, and that no code opens another booking."""

from __future__ import annotations

import os

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from protos.codes import (
    CodeClaim,
    CodeRefused,
    Refusal,
    booking_key,
    code_at,
    make_code,
    parse_code,
    verify_code,
)

STORE_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
START = 1_790_000_040  # a whole minute
END = START + 2 * 3600

ids = st.text(alphabet="ABCDEFGHJKMNPQRSTVWXYZ0123456789-_abc", min_size=1, max_size=16)
minutes = st.integers(min_value=27_000_000, max_value=35_000_000)


def _code(ref: str = "B1", room: str = "r1", store: str = "s1", now: float = START) -> str:
    return code_at(STORE_KEY, 1, store, ref, room, START, END, now)


def test_a_fresh_code_verifies_and_names_its_booking() -> None:
    claim = verify_code(_code(), "s1", {1: STORE_KEY}, START + 5)
    assert claim == CodeClaim("s1", 1, "B1", "r1", START, END, START // 60)


def test_the_code_changes_every_minute() -> None:
    assert _code(now=START) != _code(now=START + 60)
    assert _code(now=START) == _code(now=START + 59)


@pytest.mark.parametrize("age_minutes", [0, 1, 2])
def test_a_code_is_valid_for_three_minutes(age_minutes: int) -> None:
    verify_code(_code(now=START), "s1", {1: STORE_KEY}, START + 60 * age_minutes + 59)


def test_a_code_older_than_three_minutes_is_expired() -> None:
    with pytest.raises(CodeRefused) as refused:
        verify_code(_code(now=START), "s1", {1: STORE_KEY}, START + 180)
    assert refused.value.reason is Refusal.EXPIRED


@given(minute=minutes, skew=st.integers(min_value=-1, max_value=1))
def test_one_minute_of_phone_clock_skew_is_tolerated(minute: int, skew: int) -> None:
    phone_now = (minute + skew) * 60
    code = _code(now=phone_now)
    assert verify_code(code, "s1", {1: STORE_KEY}, minute * 60 + 30).minute == minute + skew


@given(minute=minutes, skew=st.integers(min_value=2, max_value=10_000))
def test_a_phone_clock_more_than_one_minute_fast_is_refused(minute: int, skew: int) -> None:
    code = _code(now=(minute + skew) * 60)
    with pytest.raises(CodeRefused) as refused:
        verify_code(code, "s1", {1: STORE_KEY}, minute * 60)
    assert refused.value.reason is Refusal.NOT_YET_VALID


@given(minute=minutes, lag=st.integers(min_value=3, max_value=10_000))
def test_a_code_from_a_phone_clock_behind_by_more_than_its_life_is_refused(minute: int, lag: int) -> None:
    code = _code(now=(minute - lag) * 60)
    with pytest.raises(CodeRefused) as refused:
        verify_code(code, "s1", {1: STORE_KEY}, minute * 60)
    assert refused.value.reason is Refusal.EXPIRED


@given(ref=ids, other_ref=ids, room=ids, other_room=ids, shift=st.integers(min_value=-5000, max_value=5000))
def test_no_code_is_valid_for_another_booking_room_or_time(
    ref: str, other_ref: str, room: str, other_room: str, shift: int
) -> None:
    assume((ref, room, shift) != (other_ref, other_room, 0))
    genuine = make_code(booking_key(STORE_KEY, ref), CodeClaim("s1", 1, ref, room, START, END, START // 60))
    claim, mac = parse_code(genuine)
    moved = shift * 60
    forged_claim = CodeClaim("s1", 1, other_ref, other_room, START + moved, END + moved, claim.minute)
    unsealed = make_code(booking_key(STORE_KEY, other_ref), forged_claim).split(".")[:-1]
    forged = ".".join([*unsealed, mac])
    with pytest.raises(CodeRefused) as refused:
        verify_code(forged, "s1", {1: STORE_KEY}, START)
    assert refused.value.reason is Refusal.BAD_SIGNATURE


@given(ref=ids)
def test_a_code_signed_with_another_stores_key_is_refused(ref: str) -> None:
    code = code_at(OTHER_KEY, 1, "s1", ref, "r1", START, END, START)
    with pytest.raises(CodeRefused) as refused:
        verify_code(code, "s1", {1: STORE_KEY}, START)
    assert refused.value.reason is Refusal.BAD_SIGNATURE


def test_a_code_of_another_store_is_refused_as_wrong_store() -> None:
    with pytest.raises(CodeRefused) as refused:
        verify_code(_code(store="s2"), "s1", {1: STORE_KEY}, START)
    assert refused.value.reason is Refusal.WRONG_STORE


def test_a_code_of_an_unknown_key_version_is_refused() -> None:
    code = code_at(STORE_KEY, 7, "s1", "B1", "r1", START, END, START)
    with pytest.raises(CodeRefused) as refused:
        verify_code(code, "s1", {1: STORE_KEY}, START)
    assert refused.value.reason is Refusal.UNKNOWN_KEY


def test_a_rotated_key_keeps_old_codes_valid_while_the_old_version_is_held() -> None:
    new_key = os.urandom(32)
    old = code_at(STORE_KEY, 1, "s1", "B1", "r1", START, END, START)
    new = code_at(new_key, 2, "s1", "B1", "r1", START, END, START)
    keys = {1: STORE_KEY, 2: new_key}
    assert verify_code(old, "s1", keys, START).key_version == 1
    assert verify_code(new, "s1", keys, START).key_version == 2


@given(text=st.text(max_size=300))
def test_arbitrary_text_is_refused_with_a_reason_and_never_crashes(text: str) -> None:
    try:
        verify_code(text, "s1", {1: STORE_KEY}, START)
    except CodeRefused as refused:
        assert refused.reason in set(Refusal)


@given(position=st.integers(min_value=0, max_value=200), char=st.characters(codec="ascii"))
def test_any_single_character_change_is_refused(position: int, char: str) -> None:
    code = _code()
    index = position % len(code)
    assume(code[index] != char)
    tampered = code[:index] + char + code[index + 1 :]
    assume(tampered.strip() != code)
    with pytest.raises(CodeRefused):
        verify_code(tampered, "s1", {1: STORE_KEY}, START)


def test_ids_that_cannot_travel_in_a_code_are_rejected_when_drawing() -> None:
    with pytest.raises(ValueError):
        code_at(STORE_KEY, 1, "s1", "B.1", "r1", START, END, START)
