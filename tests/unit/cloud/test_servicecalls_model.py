"""The room QR page's form token and the checks of a customer's call (pure)."""

from __future__ import annotations

import pytest

from cloud.errors import Invalid
from cloud.servicecalls.model import (
    FORM_TTL_S,
    MAX_NOTE,
    CallReason,
    FormRefused,
    check_form_token,
    form_token,
    parse_call,
)

KEY = bytes(range(32))
NOW = 1_800_000_000


def refusal(
    token: str | None, *, store: str = "s-1", room: str = "r-1", now: float = NOW, key: bytes = KEY
) -> str:
    with pytest.raises(FormRefused) as caught:
        check_form_token(key, store, room, token, now)
    return caught.value.code


def test_a_token_of_this_rooms_page_is_accepted_until_it_is_too_old() -> None:
    token = form_token(KEY, "s-1", "r-1", NOW)
    assert check_form_token(KEY, "s-1", "r-1", token, NOW) == NOW
    assert check_form_token(KEY, "s-1", "r-1", token, NOW + FORM_TTL_S) == NOW
    assert refusal(token, now=NOW + FORM_TTL_S + 1) == "form_expired"


def test_a_token_is_bound_to_its_room_its_store_and_the_servers_key() -> None:
    token = form_token(KEY, "s-1", "r-1", NOW)
    assert refusal(token, room="r-2") == "form_bad_signature"
    assert refusal(token, store="s-2") == "form_bad_signature"
    assert refusal(token, key=bytes(32)) == "form_bad_signature"


def test_a_token_with_a_changed_time_or_mac_is_not_genuine() -> None:
    token = form_token(KEY, "s-1", "r-1", NOW)
    stamp, _, mac = token.partition(".")
    assert refusal(f"{NOW + 600}.{mac}", now=NOW + 600) == "form_bad_signature"
    assert refusal(f"{stamp}.{mac[:-2]}AA") == "form_bad_signature"


def test_a_token_from_the_future_is_refused_beyond_a_minute_of_skew() -> None:
    ahead = form_token(KEY, "s-1", "r-1", NOW + 30)
    assert check_form_token(KEY, "s-1", "r-1", ahead, NOW) == NOW + 30
    assert refusal(form_token(KEY, "s-1", "r-1", NOW + 600)) == "form_expired"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "form_missing"),
        ("", "form_missing"),
        ("abc", "form_malformed"),
        ("123.", "form_malformed"),
        ("x.y", "form_malformed"),
    ],
)
def test_missing_or_malformed_tokens_have_their_own_codes(token: str | None, code: str) -> None:
    assert refusal(token) == code


def test_a_call_takes_a_known_reason_and_a_tidy_note() -> None:
    call = parse_call("order_bar", "  two\tmore   teas\n please ")
    assert call.reason is CallReason.ORDER_BAR
    assert call.note == "two more teas please"
    assert parse_call("call_staff", "").note == ""


def test_an_unknown_reason_or_a_long_note_is_refused_with_its_code() -> None:
    with pytest.raises(Invalid) as unknown:
        parse_call("free_beer", "")
    assert unknown.value.code == "invalid_reason"
    with pytest.raises(Invalid) as long:
        parse_call("broken", "x" * (MAX_NOTE + 1))
    assert long.value.code == "note_too_long"
    assert parse_call("broken", "x" * MAX_NOTE).note == "x" * MAX_NOTE
