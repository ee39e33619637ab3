"""The lock codec: valid messages decode, anything else is a LockReplyError and nothing else."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.heartbeat import Heartbeat
from drivers.lock import LockDoorOpen, LockJammed, LockOp, LockReplyError, LockState, LockStatus
from drivers.lock.codec import (
    BleError,
    BleState,
    ErrorReply,
    StateReply,
    crc16,
    decode_ble_frame,
    decode_state,
    encode_ble_command,
    encode_command,
    error_outcome,
)
from drivers.lock.transport_mqtt import command_outcome

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_a_state_message_decodes_to_status_and_command_id() -> None:
    payload = b'{"state": "unlocked", "door": "open", "cmd_id": "abc", "ts": 12.5}'
    assert decode_state(payload) == StateReply(LockStatus(LockState.UNLOCKED, True, 12.5), "abc")


def test_a_spontaneous_state_has_no_command_id_and_the_door_may_be_unknown() -> None:
    reply = decode_state(b'{"state": "locked", "cmd_id": null, "ts": 1}')
    assert reply == StateReply(LockStatus(LockState.LOCKED, None, 1.0), None)


def test_an_error_reply_decodes_with_its_code() -> None:
    assert decode_state(b'{"error": "unknown_op", "cmd_id": "x"}') == ErrorReply("unknown_op", "x")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"state": "open sesame", "ts": 1}',
        b'{"state": "locked", "door": "ajar", "ts": 1}',
        b'{"state": "locked", "ts": "yesterday"}',
        b'{"state": "locked", "ts": NaN}',
        b'{"state": "locked", "ts": true}',
        b'{"state": "locked", "ts": 1, "cmd_id": 7}',
        b'{"state": "locked"}',
        b'{"error": 5}',
        b"[" * 100_000,
        b"[" * 5_000,
        b'{"a":' * 3_000,
        b'{"state": "locked", "ts": 1' + b" " * 20_000 + b"}",
    ],
)
def test_malformed_state_messages_are_reply_errors(payload: bytes) -> None:
    with pytest.raises(LockReplyError):
        decode_state(payload)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_a_reply_error(payload: bytes) -> None:
    with contextlib.suppress(LockReplyError):
        decode_state(payload)


@given(st.dictionaries(st.sampled_from(["state", "door", "cmd_id", "ts", "error"]), json_values))
def test_arbitrary_json_objects_never_raise_anything_but_a_reply_error(obj: dict[str, object]) -> None:
    payload = json.dumps(obj).encode()
    with contextlib.suppress(LockReplyError):
        decode_state(payload)


def test_an_open_door_is_a_state_of_its_own() -> None:
    reply = decode_state(b'{"state": "open", "door": "open", "cmd_id": null, "ts": 2}')
    assert reply == StateReply(LockStatus(LockState.OPEN, True, 2.0), None)


def test_a_command_is_a_json_object_with_id_and_op() -> None:
    assert json.loads(encode_command("c1", LockOp.UNLOCK)) == {"id": "c1", "op": "unlock"}


def _status(state: LockState) -> LockStatus:
    return LockStatus(state, False, 0.0)


def test_unlock_is_answered_by_unlocked_and_not_by_unlocking() -> None:
    assert command_outcome(LockOp.UNLOCK, _status(LockState.UNLOCKING)) is None
    assert command_outcome(LockOp.UNLOCK, _status(LockState.UNLOCKED)) == _status(LockState.UNLOCKED)


def test_a_jam_answers_any_command_with_lock_jammed() -> None:
    for op in LockOp:
        assert isinstance(command_outcome(op, _status(LockState.JAMMED)), LockJammed)


def test_unlock_answered_by_locked_is_a_reply_error() -> None:
    assert isinstance(command_outcome(LockOp.UNLOCK, _status(LockState.LOCKED)), LockReplyError)


def test_status_is_answered_by_any_state() -> None:
    assert command_outcome(LockOp.STATUS, _status(LockState.LOCKING)) == _status(LockState.LOCKING)


def test_unlock_is_also_answered_by_a_door_standing_open() -> None:
    assert command_outcome(LockOp.UNLOCK, _status(LockState.OPEN)) == _status(LockState.OPEN)


def test_lock_with_the_door_open_is_refused_with_door_open() -> None:
    outcome = command_outcome(LockOp.LOCK, _status(LockState.OPEN))
    assert isinstance(outcome, LockDoorOpen)
    assert outcome.code == "door_open"


def test_error_replies_name_a_jam_or_a_refusal() -> None:
    assert isinstance(error_outcome("jammed", "l1"), LockJammed)
    refused = error_outcome("low_battery", "l1")
    assert isinstance(refused, LockReplyError) and "low_battery" in str(refused)


# ---- BLE frames ----


def test_the_frame_crc_is_crc16_ccitt_false() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_a_command_frame_carries_magic_version_type_sequence_op_and_crc() -> None:
    frame = encode_ble_command(0x1234, LockOp.LOCK)
    assert frame[:6] == bytes([0xA5, 0x01, 0x01, 0x12, 0x34, 0x02])
    assert int.from_bytes(frame[6:], "big") == crc16(frame[:6])


@pytest.mark.parametrize("seq", [0, 0x10000, -1])
def test_a_command_sequence_outside_1_to_65535_is_refused(seq: int) -> None:
    with pytest.raises(ValueError):
        encode_ble_command(seq, LockOp.UNLOCK)


def _sealed(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


def test_a_state_notification_decodes_to_its_sequence_and_status() -> None:
    frame = _sealed(
        bytes([0xA5, 0x01, 0x81, 0x00, 0x07, 5, 1]) + (1_800_000_000).to_bytes(4, "big") + b"\x01\xf4"
    )
    assert decode_ble_frame(frame, received_at=9.0) == BleState(
        7, LockStatus(LockState.OPEN, True, 1_800_000_000.5)
    )


def test_error_and_heartbeat_notifications_decode() -> None:
    assert decode_ble_frame(_sealed(bytes([0xA5, 0x01, 0x82, 0, 3, 1])), received_at=0) == BleError(
        3, "jammed"
    )
    heartbeat = _sealed(bytes([0xA5, 0x01, 0x83, 64]) + (10).to_bytes(4, "big") + b"\x00\x00")
    assert decode_ble_frame(heartbeat, received_at=11.0) == Heartbeat(at=10.0, battery=64, received_at=11.0)
    unknown = _sealed(bytes([0xA5, 0x01, 0x83, 255]) + (10).to_bytes(4, "big") + b"\x00\x00")
    assert decode_ble_frame(unknown, received_at=11.0) == Heartbeat(at=10.0, battery=None, received_at=11.0)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "too short"),
        (b"\xa5\x01", "too short"),
        (b"\x00\x01\x81" + bytes(12), "not a5 01"),
        (b"\xa5\x02\x81" + bytes(12), "not a5 01"),
        (b"\xa5\x01\x99" + bytes(12), "unknown BLE frame type"),
        (_sealed(bytes([0xA5, 0x01, 0x01, 0, 1, 1])), "command frames"),
        (bytes([0xA5, 0x01, 0x81]) + bytes(11), "not 15"),
        (bytes([0xA5, 0x01, 0x81]) + bytes(12), "CRC"),
        (_sealed(bytes([0xA5, 0x01, 0x81, 0, 1, 9, 0]) + bytes(6)), "unknown BLE lock state"),
        (_sealed(bytes([0xA5, 0x01, 0x81, 0, 1, 0, 7]) + bytes(6)), "unknown BLE door"),
        (_sealed(bytes([0xA5, 0x01, 0x81, 0, 1, 0, 0]) + bytes(4) + b"\x03\xe8"), "milliseconds"),
        (_sealed(bytes([0xA5, 0x01, 0x83, 101]) + bytes(6)), "battery"),
    ],
)
def test_malformed_ble_frames_are_reply_errors_with_a_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(LockReplyError, match=reason) as info:
        decode_ble_frame(frame, received_at=0)
    assert info.value.code == "bad_reply"


@given(st.binary(max_size=40))
def test_arbitrary_ble_notifications_never_raise_anything_but_a_reply_error(data: bytes) -> None:
    with contextlib.suppress(LockReplyError):
        decode_ble_frame(data, received_at=0)


@given(st.binary(min_size=10, max_size=10), st.sampled_from([0x81, 0x82, 0x83]))
def test_well_sealed_random_bodies_decode_or_are_reply_errors(body: bytes, kind: int) -> None:
    lengths = {0x81: 15, 0x82: 8, 0x83: 12}
    frame = _sealed(bytes([0xA5, 0x01, kind]) + body[: lengths[kind] - 5])
    with contextlib.suppress(LockReplyError):
        decoded = decode_ble_frame(frame, received_at=0)
        assert isinstance(decoded, BleState | BleError | Heartbeat)
