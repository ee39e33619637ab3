"""Pure bytes <-> values for locks: MQTT JSON and BLE frames; garbage becomes LockReplyError, nothing else."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..heartbeat import Heartbeat
from ..mqtt.codec import dumps, get_number, get_opt_str, get_str, loads_object
from ..mqtt.exceptions import MqttPayloadError
from .const import (
    ANSWERS,
    BLE_BATTERY_UNKNOWN,
    BLE_DOORS,
    BLE_ERRORS,
    BLE_OPS,
    BLE_STATES,
    DOOR_VALUES,
    FRAME_LENGTHS,
    FRAME_MAGIC,
    FRAME_VERSION,
    SEQ_MAX,
    TRANSIENT_STATES,
    FrameType,
    LockOp,
    LockState,
)
from .exceptions import LockDoorOpen, LockError, LockJammed, LockReplyError


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


def command_outcome(op: LockOp, status: LockStatus) -> LockStatus | LockError | None:
    """What a state answering a command means: done (the status), failed (an error), or not yet (None)."""
    if status.state is LockState.JAMMED:
        return LockJammed(f"lock jammed during {op.value}")
    answers = ANSWERS[op]
    if answers is None or status.state in answers:
        return status
    if status.state in TRANSIENT_STATES:
        return None
    if op is LockOp.LOCK and status.state is LockState.OPEN:
        return LockDoorOpen("the door stands open: the lock locks once it closes")
    return LockReplyError(f"{op.value} answered with state {status.state.value}")


def error_outcome(error: str, device_id: str) -> LockError:
    """The driver error for a device's error reply code."""
    if error == "jammed":
        return LockJammed(f"lock {device_id} reports jammed")
    return LockReplyError(f"lock {device_id} refused the command: {error}")


# ---- MQTT JSON ----


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


# ---- BLE frames ----


@dataclass(frozen=True, slots=True)
class BleState:
    """A state notification answering the command with sequence `seq` (0: spontaneous)."""

    seq: int
    status: LockStatus


@dataclass(frozen=True, slots=True)
class BleError:
    """An error notification refusing the command with sequence `seq`."""

    seq: int
    error: str


BleFrame = BleState | BleError | Heartbeat


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _seal(body: bytes) -> bytes:
    return body + struct.pack(">H", crc16(body))


def encode_ble_command(seq: int, op: LockOp) -> bytes:
    """The command frame `A5 01 01 seq op crc` written to the command characteristic."""
    if not 1 <= seq <= SEQ_MAX:
        raise ValueError(f"command sequence {seq} out of 1..{SEQ_MAX}")
    return _seal(struct.pack(">BBBHB", FRAME_MAGIC, FRAME_VERSION, FrameType.COMMAND, seq, BLE_OPS[op]))


def _timestamp(seconds: int, millis: int) -> float:
    if millis > 999:
        raise LockReplyError(f"timestamp milliseconds {millis} > 999")
    return seconds + millis / 1000


def decode_ble_frame(data: bytes, *, received_at: float) -> BleFrame:
    """Decode a notification of the event characteristic (state, error or heartbeat)."""
    if len(data) < 3:
        raise LockReplyError(f"BLE frame of {len(data)} bytes is too short")
    if data[0] != FRAME_MAGIC or data[1] != FRAME_VERSION:
        raise LockReplyError(f"BLE frame starts {data[:2].hex()}, not a5 01")
    try:
        kind = FrameType(data[2])
    except ValueError as err:
        raise LockReplyError(f"unknown BLE frame type 0x{data[2]:02x}") from err
    if kind is FrameType.COMMAND:
        raise LockReplyError("a lock does not send command frames")
    if len(data) != FRAME_LENGTHS[kind]:
        raise LockReplyError(f"BLE {kind.name.lower()} frame of {len(data)} bytes, not {FRAME_LENGTHS[kind]}")
    (crc,) = struct.unpack(">H", data[-2:])
    if crc != crc16(data[:-2]):
        raise LockReplyError("BLE frame CRC mismatch")
    if kind is FrameType.STATE:
        seq, raw_state, raw_door, seconds, millis = struct.unpack(">HBBIH", data[3:-2])
        if raw_state not in BLE_STATES:
            raise LockReplyError(f"unknown BLE lock state {raw_state}")
        if raw_door not in BLE_DOORS:
            raise LockReplyError(f"unknown BLE door value {raw_door}")
        status = LockStatus(BLE_STATES[raw_state], BLE_DOORS[raw_door], _timestamp(seconds, millis))
        return BleState(seq, status)
    if kind is FrameType.ERROR:
        seq, raw_error = struct.unpack(">HB", data[3:-2])
        return BleError(seq, BLE_ERRORS.get(raw_error, f"error_{raw_error}"))
    battery, seconds, millis = struct.unpack(">BIH", data[3:-2])
    if battery != BLE_BATTERY_UNKNOWN and battery > 100:
        raise LockReplyError(f"battery {battery} out of 0..100")
    return Heartbeat(
        at=_timestamp(seconds, millis),
        battery=None if battery == BLE_BATTERY_UNKNOWN else battery,
        received_at=received_at,
    )
