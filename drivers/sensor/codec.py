"""Pure bytes -> values for sensor state messages; garbage becomes SensorPayloadError, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from ..mqtt.codec import get_number, get_str, loads_object
from ..mqtt.exceptions import MqttPayloadError
from .const import SensorKind
from .exceptions import SensorKindError, SensorPayloadError


@dataclass(frozen=True, slots=True)
class SensorState:
    """A sensor's report: its kind, whether it is active (smoke, pressed, open) and the device's ts."""

    kind: SensorKind
    active: bool
    at: float


def decode_state(payload: bytes, *, expect: SensorKind | None = None) -> SensorState:
    """Decode `{"kind": ..., "active": bool, "ts": ...}`; `expect` refuses another kind."""
    try:
        obj = loads_object(payload)
        raw_kind = get_str(obj, "kind")
        at = get_number(obj, "ts")
    except MqttPayloadError as err:
        raise SensorPayloadError(f"bad sensor state message: {err}") from err
    try:
        kind = SensorKind(raw_kind)
    except ValueError as err:
        raise SensorPayloadError(f"unknown sensor kind {raw_kind!r:.40}") from err
    active = obj.get("active")
    if not isinstance(active, bool):
        raise SensorPayloadError(f"field 'active' must be a boolean, got {active!r:.40}")
    if expect is not None and kind is not expect:
        raise SensorKindError(f"a {expect.value} sensor reported kind {kind.value}")
    return SensorState(kind, active, at)
