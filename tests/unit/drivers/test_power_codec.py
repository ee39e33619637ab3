"""The power codec: MQTT switch payloads, the Modbus coil mapping and read-back rules."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.power import ChannelRole, PowerReplyError, parse_channel_roles
from drivers.power.codec import (
    ErrorReply,
    SwitchState,
    check_channel,
    coil_address,
    coil_value,
    decode_state,
    encode_set,
    encode_status,
)
from drivers.power.transport_mqtt import read_back

FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=5), st.lists(st.booleans())
)


def test_a_state_message_decodes_channels_and_command_id() -> None:
    reply = decode_state(b'{"channels": [true, false], "cmd_id": "c", "ts": 2}')
    assert reply == SwitchState((True, False), "c", 2.0)


def test_an_error_reply_decodes_with_its_code() -> None:
    assert decode_state(b'{"error": "bad_request", "cmd_id": "c"}') == ErrorReply("bad_request", "c")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00",
        b'{"channels": [], "ts": 1}',
        b'{"channels": [1, 0], "ts": 1}',
        b'{"channels": "on", "ts": 1}',
        b'{"channels": [true]}',
        b'{"channels": [true], "ts": 1e999}',
    ],
)
def test_malformed_state_messages_are_reply_errors(payload: bytes) -> None:
    with pytest.raises(PowerReplyError):
        decode_state(payload)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_a_reply_error(payload: bytes) -> None:
    with contextlib.suppress(PowerReplyError):
        decode_state(payload)


@given(
    st.dictionaries(
        st.sampled_from(["channels", "cmd_id", "ts", "error"]),
        FIELD_VALUES,
    )
)
def test_arbitrary_json_objects_never_raise_anything_but_a_reply_error(obj: dict[str, object]) -> None:
    with contextlib.suppress(PowerReplyError):
        decode_state(json.dumps(obj).encode())


def test_commands_are_json_objects() -> None:
    assert json.loads(encode_set("c", 2, True)) == {"id": "c", "op": "set", "channel": 2, "on": True}
    assert json.loads(encode_status("c")) == {"id": "c", "op": "status"}


def test_channel_n_is_coil_n_and_the_first_bit_of_a_read_is_the_value() -> None:
    assert coil_address(3) == 3
    assert coil_value([True] + [False] * 7) is True
    with pytest.raises(PowerReplyError):
        coil_value([])


@pytest.mark.parametrize("channel", [-1, 4, True, 1.0])
def test_channels_outside_the_switch_are_refused(channel: int) -> None:
    with pytest.raises(ValueError):
        check_channel(channel, 4)


def test_a_set_is_acknowledged_only_by_the_value_it_set() -> None:
    state = SwitchState((True, False), "c", 0.0)
    assert read_back(0, True, state) is True
    assert isinstance(read_back(1, True, state), PowerReplyError)
    assert read_back(1, None, state) is False
    assert isinstance(read_back(5, None, state), PowerReplyError)


def test_channel_roles_come_from_config_in_channel_order_and_default_to_other() -> None:
    assert parse_channel_roles("light, ac,fresh_air", 4) == (
        ChannelRole.LIGHT,
        ChannelRole.AC,
        ChannelRole.FRESH_AIR,
        ChannelRole.OTHER,
    )
    assert parse_channel_roles(None, 2) == (ChannelRole.OTHER, ChannelRole.OTHER)
    assert parse_channel_roles(" ", 1) == (ChannelRole.OTHER,)


@pytest.mark.parametrize("raw", ["light,ac", "heater", "light,,ac"])
def test_too_many_or_unknown_channel_roles_are_a_config_error(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_channel_roles(raw, 1 if raw == "light,ac" else 3)
