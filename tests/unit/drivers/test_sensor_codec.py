"""Sensor codec: state messages decode; garbage is bad_payload, another kind is wrong_kind."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.sensor import SensorError, SensorKind, SensorKindError, SensorPayloadError, SensorState
from drivers.sensor.codec import decode_state


@pytest.mark.parametrize("kind", list(SensorKind))
def test_every_kind_decodes(kind: SensorKind) -> None:
    payload = json.dumps({"kind": kind.value, "active": True, "ts": 3}).encode()
    assert decode_state(payload) == SensorState(kind, True, 3.0)


def test_a_sensor_configured_as_one_kind_refuses_another() -> None:
    with pytest.raises(SensorKindError) as info:
        decode_state(b'{"kind": "contact", "active": false, "ts": 1}', expect=SensorKind.SMOKE)
    assert info.value.code == "wrong_kind"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"null",
        b'{"kind": "smoke", "active": 1, "ts": 1}',
        b'{"kind": "smoke", "active": null, "ts": 1}',
        b'{"kind": "gas", "active": true, "ts": 1}',
        b'{"kind": 7, "active": true, "ts": 1}',
        b'{"kind": "smoke", "active": true, "ts": "now"}',
    ],
)
def test_malformed_messages_are_payload_errors(payload: bytes) -> None:
    with pytest.raises(SensorPayloadError) as info:
        decode_state(payload)
    assert info.value.code == "bad_payload"


@given(st.binary(max_size=200), st.sampled_from([None, *SensorKind]))
def test_arbitrary_bytes_never_raise_anything_but_a_sensor_error(
    payload: bytes, kind: SensorKind | None
) -> None:
    with contextlib.suppress(SensorError):
        decode_state(payload, expect=kind)
