"""Pure helpers for the JSON payloads and topics every MQTT device driver shares."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from ..heartbeat import BATTERY_RANGE, Heartbeat
from .const import DEVICE_TOPIC, MAX_PAYLOAD
from .exceptions import MqttPayloadError

_FORBIDDEN_IN_ID = frozenset("/+#\x00")


def device_topic(device_id: str, leaf: str) -> str:
    """The topic `gh/dev/<device_id>/<leaf>`; refuses ids that would change the topic's shape."""
    if not device_id or any(ch in _FORBIDDEN_IN_ID for ch in device_id):
        raise ValueError(f"device id not usable in an MQTT topic: {device_id!r}")
    return DEVICE_TOPIC.format(device_id=device_id, leaf=leaf)


def dumps(obj: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def loads_object(payload: bytes, *, max_size: int = MAX_PAYLOAD) -> dict[str, Any]:
    """Parse a JSON object, or raise MqttPayloadError for anything else (never another exception)."""
    if len(payload) > max_size:
        raise MqttPayloadError(f"payload of {len(payload)} bytes exceeds {max_size}")
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MqttPayloadError(f"payload is not JSON: {err}") from err
    if not isinstance(obj, dict):
        raise MqttPayloadError(f"payload is a JSON {type(obj).__name__}, not an object")
    return obj


def get_str(obj: dict[str, Any], key: str) -> str:
    """A required string field."""
    value = obj.get(key)
    if not isinstance(value, str):
        raise MqttPayloadError(f"field {key!r} must be a string, got {value!r:.40}")
    return value


def get_opt_str(obj: dict[str, Any], key: str) -> str | None:
    """An optional string field (absent or null gives None)."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MqttPayloadError(f"field {key!r} must be a string or null, got {value!r:.40}")


def get_number(obj: dict[str, Any], key: str) -> float:
    """A required finite number (bools are not numbers here)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MqttPayloadError(f"field {key!r} must be a number, got {value!r:.40}")
    try:
        number = float(value)
    except OverflowError as err:
        raise MqttPayloadError(f"field {key!r} is out of range") from err
    if not math.isfinite(number):
        raise MqttPayloadError(f"field {key!r} must be finite")
    return number


def decode_heartbeat(payload: bytes, *, received_at: float) -> Heartbeat:
    """Decode a heartbeat `{"ts": ..., "battery": 0-100 | null}` received at `received_at`."""
    obj = loads_object(payload)
    at = get_number(obj, "ts")
    battery = obj.get("battery")
    if battery is None:
        return Heartbeat(at=at, battery=None, received_at=received_at)
    if isinstance(battery, bool) or not isinstance(battery, int) or battery not in BATTERY_RANGE:
        raise MqttPayloadError(f"battery must be an integer 0-100 or null, got {battery!r:.40}")
    return Heartbeat(at=at, battery=battery, received_at=received_at)


def covers(outer: str, inner: str) -> bool:
    """True if every topic matched by filter `inner` is also matched by filter `outer`."""
    outer_levels = outer.split("/")
    inner_levels = inner.split("/")
    for index, level in enumerate(outer_levels):
        if level == "#":
            return True
        if index >= len(inner_levels):
            return False
        other = inner_levels[index]
        if other == "#":
            return False
        if level != "+" and level != other:
            return False
    # A longer inner is matched only through a trailing "#" of outer (handled in the loop).
    return len(inner_levels) == len(outer_levels)


def broker_filters(filters: Iterable[str]) -> set[str]:
    """The filters to subscribe at the broker: those no other filter covers.

    A broker may deliver one copy of a message per matching subscription (amqtt does), so
    overlapping subscriptions would hand every callback duplicates.
    """
    candidates = set(filters)
    # Only a filter with a wildcard can cover another: comparing every exact filter with the few
    # wildcard ones keeps this linear in the number of devices (an edge subscribes hundreds).
    wildcards = [f for f in candidates if "+" in f or "#" in f]

    def shadowed(candidate: str) -> bool:
        # Of two filters covering each other (`#` and `+/#`), the smaller string stays.
        return any(
            other != candidate
            and covers(other, candidate)
            and (other < candidate or not covers(candidate, other))
            for other in wildcards
        )

    return {candidate for candidate in candidates if not shadowed(candidate)}
