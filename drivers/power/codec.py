"""Pure bytes <-> values for power switches: MQTT JSON payloads and the Modbus coil mapping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..mqtt.codec import dumps, get_number, get_opt_str, get_str, loads_object
from ..mqtt.exceptions import MqttPayloadError
from .const import COIL_BASE, MAX_CHANNELS, ChannelRole, SwitchOp
from .exceptions import PowerReplyError


@dataclass(frozen=True, slots=True)
class SwitchState:
    """A switch's channels as reported, answering the command `cmd_id` (None: spontaneous)."""

    channels: tuple[bool, ...]
    cmd_id: str | None
    at: float


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A switch's refusal of the command `cmd_id`."""

    error: str
    cmd_id: str | None


def check_channel(channel: int, channels: int) -> None:
    """Refuse a channel the switch does not have (a configuration error, not a device failure)."""
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < channels:
        raise ValueError(f"channel {channel!r} out of range 0..{channels - 1}")


def parse_channel_roles(raw: str | None, channels: int) -> tuple[ChannelRole, ...]:
    """Roles per channel from a config value like "light,ac,fresh_air"; channels not named are OTHER."""
    names = [name.strip() for name in (raw or "").split(",")] if raw and raw.strip() else []
    if len(names) > channels:
        raise ValueError(f"{len(names)} roles for {channels} channels")
    try:
        roles = [ChannelRole(name) for name in names]
    except ValueError as err:
        known = ", ".join(role.value for role in ChannelRole)
        raise ValueError(f"unknown channel role in {raw!r} (known: {known})") from err
    return tuple(roles + [ChannelRole.OTHER] * (channels - len(roles)))


def coil_address(channel: int) -> int:
    """The Modbus coil of a channel."""
    return COIL_BASE + channel


def coil_value(bits: Sequence[bool]) -> bool:
    """The first coil of a read_coils answer (which carries at least 8 bits)."""
    if not bits:
        raise PowerReplyError("read_coils answered no bits")
    return bool(bits[0])


def encode_set(cmd_id: str, channel: int, on: bool) -> bytes:
    """The MQTT `set` command payload."""
    return dumps({"id": cmd_id, "op": SwitchOp.SET.value, "channel": channel, "on": on})


def encode_status(cmd_id: str) -> bytes:
    """The MQTT `status` command payload."""
    return dumps({"id": cmd_id, "op": SwitchOp.STATUS.value})


def decode_state(payload: bytes) -> SwitchState | ErrorReply:
    """Decode a message of an MQTT switch's state topic (a state or an error reply)."""
    try:
        obj = loads_object(payload)
        cmd_id = get_opt_str(obj, "cmd_id")
        if "error" in obj:
            return ErrorReply(error=get_str(obj, "error"), cmd_id=cmd_id)
        at = get_number(obj, "ts")
    except MqttPayloadError as err:
        raise PowerReplyError(f"bad switch state message: {err}") from err
    return SwitchState(channels=_channels(obj), cmd_id=cmd_id, at=at)


def _channels(obj: dict[str, Any]) -> tuple[bool, ...]:
    raw = obj.get("channels")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CHANNELS:
        raise PowerReplyError(f"channels must be a list of 1..{MAX_CHANNELS} booleans")
    if not all(isinstance(value, bool) for value in raw):
        raise PowerReplyError("channels must hold booleans only")
    return tuple(raw)
