"""The lock codec: valid messages decode, anything else is a LockReplyError and nothing else."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.lock import LockJammed, LockOp, LockReplyError, LockState, LockStatus
from drivers.lock.codec import ErrorReply, StateReply, decode_heartbeat, decode_state, encode_command
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
    with contextlib.suppress(LockReplyError):
        decode_heartbeat(payload)


@given(st.dictionaries(st.sampled_from(["state", "door", "cmd_id", "ts", "error"]), json_values))
def test_arbitrary_json_objects_never_raise_anything_but_a_reply_error(obj: dict[str, object]) -> None:
    payload = json.dumps(obj).encode()
    with contextlib.suppress(LockReplyError):
        decode_state(payload)
    with contextlib.suppress(LockReplyError):
        decode_heartbeat(payload)


def test_heartbeats_carry_a_battery_percentage_or_null() -> None:
    assert decode_heartbeat(b'{"ts": 3, "battery": 90}').battery == 90
    assert decode_heartbeat(b'{"ts": 3, "battery": null}').battery is None
    with pytest.raises(LockReplyError):
        decode_heartbeat(b'{"ts": 3, "battery": 101}')


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
