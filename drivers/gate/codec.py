"""Pure values <-> wire for gates: Modbus registers and MQTT JSON; garbage becomes GateReplyError only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..mqtt.codec import dumps, get_number, get_opt_str, get_str, loads_object
from ..mqtt.exceptions import MqttPayloadError
from .const import ERROR_JAMMED, GateOp, GateRegisterMap
from .exceptions import GateError, GateJammed, GateReplyError


@dataclass(frozen=True, slots=True)
class GateStatus:
    """A gate's state: `open` while its arm is released, `passes` its pass counter, `at` when reported."""

    open: bool
    passes: int
    at: float


@dataclass(frozen=True, slots=True)
class GateReading:
    """What the status registers of a Modbus gate say."""

    status: GateStatus
    jammed: bool


@dataclass(frozen=True, slots=True)
class StateReply:
    """An MQTT gate state, answering the command `cmd_id` (None: spontaneous)."""

    status: GateStatus
    cmd_id: str | None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An MQTT gate's refusal of the command `cmd_id`."""

    error: str
    cmd_id: str | None


def register_span(registers: GateRegisterMap) -> tuple[int, int]:
    """The first input register and the count to read so one request covers counter and status."""
    first = min(registers.counter_register, registers.status_register)
    last = max(registers.counter_register + 1, registers.status_register)
    return first, last - first + 1


def decode_registers(values: Sequence[int], registers: GateRegisterMap, *, at: float) -> GateReading:
    """Decode the input registers read from `register_span(registers)[0]`."""
    first, count = register_span(registers)
    if len(values) < count:
        raise GateReplyError(f"read {len(values)} registers, need {count}")
    if any(not isinstance(v, int) or not 0 <= v <= 0xFFFF for v in values[:count]):
        raise GateReplyError("register values must be 16-bit unsigned")
    high = values[registers.counter_register - first]
    low = values[registers.counter_register + 1 - first]
    bits = values[registers.status_register - first]
    status = GateStatus(open=bool(bits >> registers.open_bit & 1), passes=high << 16 | low, at=at)
    return GateReading(status, jammed=bool(bits >> registers.jammed_bit & 1))


def open_outcome(reading: GateReading) -> GateStatus:
    """The result of an open pulse read back from the registers, or why it failed."""
    if reading.jammed:
        raise GateJammed("the gate reports its arm jammed")
    if not reading.status.open:
        raise GateReplyError("the gate did not report itself open after the pulse")
    return reading.status


def encode_command(cmd_id: str, op: GateOp) -> bytes:
    """The MQTT command payload."""
    return dumps({"id": cmd_id, "op": op.value})


def decode_state(payload: bytes) -> StateReply | ErrorReply:
    """Decode a message of an MQTT gate's state topic (a state or an error reply)."""
    try:
        obj = loads_object(payload)
        cmd_id = get_opt_str(obj, "cmd_id")
        if "error" in obj:
            return ErrorReply(error=get_str(obj, "error"), cmd_id=cmd_id)
        at = get_number(obj, "ts")
    except MqttPayloadError as err:
        raise GateReplyError(f"bad gate state message: {err}") from err
    is_open = obj.get("open")
    passes = obj.get("passes")
    if not isinstance(is_open, bool):
        raise GateReplyError(f"field 'open' must be a boolean, got {is_open!r:.40}")
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 0:
        raise GateReplyError(f"field 'passes' must be a counter >= 0, got {passes!r:.40}")
    return StateReply(GateStatus(open=is_open, passes=passes, at=at), cmd_id)


def command_outcome(op: GateOp, status: GateStatus) -> GateStatus | GateError:
    """What a state carrying a command's id means: done, or why not."""
    if op is GateOp.OPEN and not status.open:
        return GateReplyError("open answered with the gate closed")
    return status


def error_outcome(error: str, device_id: str) -> GateError:
    """The driver error for a gate's error reply code."""
    if error == ERROR_JAMMED:
        return GateJammed(f"gate {device_id} reports jammed")
    return GateReplyError(f"gate {device_id} refused the command: {error}")
