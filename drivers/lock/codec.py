"""Pure bytes <-> values for the MQTT lock protocol; garbage becomes LockReplyError, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from ..mqtt.codec import dumps, get_number, get_opt_str, get_str, loads_object
from ..mqtt.exceptions import MqttPayloadError
from .const import BATTERY_RANGE, DOOR_VALUES, LockOp, LockState
from .exceptions import LockReplyError


@dataclass(frozen=True, slots=True)
class LockStatus:
    """A lock's reported state; `at` is the device's timestamp (unix seconds)."""

    state: LockState
    door_open: bool | None
    at: float


@dataclass(frozen=True, slots=True)
class StateReply:
    """A state message, answering the command `cmd_id` (None: spontaneous)."""

    status: LockStatus
    cmd_id: str | None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A device's refusal of the command `cmd_id`."""

    error: str
    cmd_id: str | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A heartbeat: device timestamp and battery percentage (None: mains powered)."""

    at: float
    battery: int | None


def encode_command(cmd_id: str, op: LockOp) -> bytes:
    """The command payload `{"id": ..., "op": ...}`."""
    return dumps({"id": cmd_id, "op": op.value})


def decode_state(payload: bytes) -> StateReply | ErrorReply:
    """Decode a message of the state topic (a state or an error reply)."""
    try:
        obj = loads_object(payload)
        cmd_id = get_opt_str(obj, "cmd_id")
        if "error" in obj:
            return ErrorReply(error=get_str(obj, "error"), cmd_id=cmd_id)
        raw_state = get_str(obj, "state")
        raw_door = get_opt_str(obj, "door")
        at = get_number(obj, "ts")
    except MqttPayloadError as err:
        raise LockReplyError(f"bad lock state message: {err}") from err
    try:
        state = LockState(raw_state)
    except ValueError as err:
        raise LockReplyError(f"unknown lock state {raw_state!r:.40}") from err
    if raw_door is None:
        door_open = None
    elif raw_door in DOOR_VALUES:
        door_open = DOOR_VALUES[raw_door]
    else:
        raise LockReplyError(f"unknown door state {raw_door!r:.40}")
    return StateReply(LockStatus(state=state, door_open=door_open, at=at), cmd_id)


def decode_heartbeat(payload: bytes) -> Heartbeat:
    """Decode a heartbeat `{"ts": ..., "battery": 0-100 | null}`."""
    try:
        obj = loads_object(payload)
        at = get_number(obj, "ts")
    except MqttPayloadError as err:
        raise LockReplyError(f"bad heartbeat: {err}") from err
    battery = obj.get("battery")
    if battery is None:
        return Heartbeat(at=at, battery=None)
    if isinstance(battery, bool) or not isinstance(battery, int) or battery not in BATTERY_RANGE:
        raise LockReplyError(f"battery must be an integer 0-100 or null, got {battery!r:.40}")
    return Heartbeat(at=at, battery=battery)
