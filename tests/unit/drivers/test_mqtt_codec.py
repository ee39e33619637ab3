"""MQTT topic rules: device topics, filter coverage and the filters subscribed at the broker."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.heartbeat import Heartbeat
from drivers.mqtt import decode_heartbeat, device_topic
from drivers.mqtt.codec import broker_filters, covers, loads_object
from drivers.mqtt.exceptions import MqttPayloadError


@pytest.mark.parametrize("device_id", ["", "a/b", "a+", "#", "x\x00"])
def test_device_ids_that_would_reshape_a_topic_are_refused(device_id: str) -> None:
    with pytest.raises(ValueError):
        device_topic(device_id, "cmd")


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("gh/dev/#", "gh/dev/a/state", True),
        ("gh/dev/+/state", "gh/dev/a/state", True),
        ("gh/dev/a/state", "gh/dev/+/state", False),
        ("gh/dev/+/state", "gh/dev/a/#", False),
        ("a/#", "a", True),
        ("a/+", "a", False),
        ("+", "a/b", False),
        ("a", "a/#", False),
        ("#", "+/#", True),
        ("a/b", "a/b", True),
    ],
)
def test_a_filter_covers_another_when_it_matches_every_topic_the_other_matches(
    outer: str, inner: str, expected: bool
) -> None:
    assert covers(outer, inner) is expected


def test_only_filters_no_other_covers_are_subscribed_at_the_broker() -> None:
    filters = ["gh/dev/a/state", "gh/dev/+/state", "gh/dev/b/scan", "x/#", "x/y", "q/w"]
    assert broker_filters(filters) == {"gh/dev/+/state", "gh/dev/b/scan", "x/#", "q/w"}
    assert broker_filters(["#", "+/#"]) == {"#"}


@pytest.mark.parametrize("payload", [b"{}x", b"null", b"\xff", b'"s"', b"[" * 5000])
def test_anything_but_a_json_object_is_a_payload_error(payload: bytes) -> None:
    with pytest.raises(MqttPayloadError):
        loads_object(payload)


def test_heartbeats_carry_the_device_ts_a_battery_percentage_or_null_and_the_receive_time() -> None:
    assert decode_heartbeat(b'{"ts": 3, "battery": 90}', received_at=4.5) == Heartbeat(3.0, 90, 4.5)
    assert decode_heartbeat(b'{"ts": 3, "battery": null}', received_at=4.5).battery is None


@pytest.mark.parametrize(
    "payload",
    [b'{"ts": 3, "battery": 101}', b'{"ts": 3, "battery": true}', b'{"battery": 5}', b"[]", b"\xff"],
)
def test_malformed_heartbeats_are_payload_errors(payload: bytes) -> None:
    with pytest.raises(MqttPayloadError) as info:
        decode_heartbeat(payload, received_at=0)
    assert info.value.code == "bad_payload"


@given(st.binary(max_size=200))
def test_arbitrary_heartbeat_bytes_never_raise_anything_but_a_payload_error(payload: bytes) -> None:
    with contextlib.suppress(MqttPayloadError):
        decode_heartbeat(payload, received_at=0)
