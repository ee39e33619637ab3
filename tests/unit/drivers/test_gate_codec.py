"""Gate codec: register reads and MQTT states decode, anything else is a GateReplyError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.gate import GATE_REGISTERS, GateJammed, GateOp, GateRegisterMap, GateReplyError, GateStatus
from drivers.gate.codec import (
    ErrorReply,
    StateReply,
    command_outcome,
    decode_registers,
    decode_state,
    encode_command,
    error_outcome,
    open_outcome,
    register_span,
)


def test_the_default_map_reads_counter_and_status_in_one_request() -> None:
    assert register_span(GATE_REGISTERS) == (0, 3)
    assert register_span(GateRegisterMap(counter_register=10, status_register=4)) == (4, 8)


def test_registers_decode_to_open_flag_and_a_32_bit_counter() -> None:
    reading = decode_registers([0x0001, 0x0002, 0b01], GATE_REGISTERS, at=7.0)
    assert reading.status == GateStatus(open=True, passes=65538, at=7.0)
    assert not reading.jammed
    assert decode_registers([0, 0, 0b10], GATE_REGISTERS, at=0).jammed


def test_an_open_read_back_must_show_the_gate_open_and_not_jammed() -> None:
    assert open_outcome(decode_registers([0, 5, 1], GATE_REGISTERS, at=0)).passes == 5
    with pytest.raises(GateReplyError, match="did not report itself open"):
        open_outcome(decode_registers([0, 5, 0], GATE_REGISTERS, at=0))
    with pytest.raises(GateJammed):
        open_outcome(decode_registers([0, 5, 3], GATE_REGISTERS, at=0))


@given(st.lists(st.integers(min_value=-(2**20), max_value=2**20), max_size=5))
def test_arbitrary_register_values_decode_or_are_reply_errors(values: list[int]) -> None:
    with contextlib.suppress(GateReplyError):
        reading = decode_registers(values, GATE_REGISTERS, at=0)
        assert 0 <= reading.status.passes < 2**32


def test_mqtt_states_and_error_replies_decode() -> None:
    reply = decode_state(b'{"open": true, "passes": 3, "cmd_id": "c", "ts": 1.5}')
    assert reply == StateReply(GateStatus(True, 3, 1.5), "c")
    assert decode_state(b'{"error": "jammed", "cmd_id": "c"}') == ErrorReply("jammed", "c")
    assert isinstance(error_outcome("jammed", "g"), GateJammed)
    assert isinstance(error_outcome("busy", "g"), GateReplyError)


def test_an_open_answered_closed_is_a_reply_error_and_status_takes_any_state() -> None:
    closed = GateStatus(False, 0, 0)
    assert isinstance(command_outcome(GateOp.OPEN, closed), GateReplyError)
    assert command_outcome(GateOp.STATUS, closed) == closed
    assert json.loads(encode_command("c1", GateOp.OPEN)) == {"id": "c1", "op": "open"}


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xff",
        b"[]",
        b'{"open": 1, "passes": 0, "ts": 1}',
        b'{"open": true, "passes": -1, "ts": 1}',
        b'{"open": true, "passes": true, "ts": 1}',
        b'{"open": true, "passes": 1.5, "ts": 1}',
        b'{"open": true, "passes": 1}',
        b'{"error": 3}',
    ],
)
def test_malformed_gate_states_are_reply_errors(payload: bytes) -> None:
    with pytest.raises(GateReplyError) as info:
        decode_state(payload)
    assert info.value.code == "bad_reply"


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_a_reply_error(payload: bytes) -> None:
    with contextlib.suppress(GateReplyError):
        decode_state(payload)
