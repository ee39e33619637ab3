"""The room QR: sealed by the store key, so a code made from ids alone, or another store's, never verifies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protos.codes import CodeRefused, Refusal, booking_key, is_room_code, room_code, verify_room_code

STORE_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
ids = st.text(alphabet="ABCDEFGHJKMNPQRSTVWXYZ0123456789-_abc", min_size=1, max_size=16)


def test_a_room_code_verifies_with_its_store_key_and_names_the_room() -> None:
    text = room_code(STORE_KEY, 1, "st_1", "rm_7")
    claim = verify_room_code(text, "st_1", {1: STORE_KEY})
    assert (claim.store_id, claim.room_id, claim.key_version) == ("st_1", "rm_7", 1)
    assert is_room_code(text) and not is_room_code("GH1.x")


@pytest.mark.parametrize(
    ("text", "keys", "reason"),
    [
        ("GHROOM.st_1.rm_7", {1: STORE_KEY}, Refusal.MALFORMED),  # the unsealed form of old sheets
        (room_code(OTHER_KEY, 1, "st_1", "rm_7"), {1: STORE_KEY}, Refusal.BAD_SIGNATURE),
        (room_code(STORE_KEY, 1, "st_2", "rm_7"), {1: STORE_KEY}, Refusal.WRONG_STORE),
        (room_code(STORE_KEY, 2, "st_1", "rm_7"), {1: STORE_KEY}, Refusal.UNKNOWN_KEY),
        ("GHROOM.st_1.rm_7.1.not-base32", {1: STORE_KEY}, Refusal.MALFORMED),
        ("GHROOM." + "x" * 300, {1: STORE_KEY}, Refusal.MALFORMED),
    ],
)
def test_a_room_code_that_does_not_verify_is_refused_with_its_reason(
    text: str, keys: dict[int, bytes], reason: Refusal
) -> None:
    with pytest.raises(CodeRefused) as refused:
        verify_room_code(text, "st_1", keys)
    assert refused.value.reason is reason


@given(store=ids, room=ids, other_room=ids)
def test_a_room_code_never_verifies_for_another_room(store: str, room: str, other_room: str) -> None:
    text = room_code(STORE_KEY, 1, store, room)
    forged = text.replace(f".{room}.", f".{other_room}.", 1) if room != other_room else text
    if forged == text:
        assert verify_room_code(text, store, {1: STORE_KEY}).room_id == room
        return
    with pytest.raises(CodeRefused):
        verify_room_code(forged, store, {1: STORE_KEY})


def test_the_room_key_differs_from_every_booking_key() -> None:
    room_mac = room_code(STORE_KEY, 1, "s", "r").rsplit(".", 1)[1]
    assert booking_key(STORE_KEY, "room-qr") != booking_key(STORE_KEY, "room-qr:")
    assert room_mac != room_code(OTHER_KEY, 1, "s", "r").rsplit(".", 1)[1]
