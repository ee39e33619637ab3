"""Wire constants of power switches: the Modbus coil map and the MQTT switch operations."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

# Modbus TCP: channel n is coil COIL_BASE + n of unit `unit`; a read of one coil returns 8 bits.
COIL_BASE: Final = 0
DEFAULT_UNIT: Final = 1
MODBUS_PORT: Final = 502

# Upper bound on the channels a switch may report (a 256-way relay board is already absurd).
MAX_CHANNELS: Final = 256


class ChannelRole(StrEnum):
    """What a switch channel powers (config key `roles`, one per channel, comma-separated)."""

    LIGHT = "light"
    AC = "ac"
    FRESH_AIR = "fresh_air"
    SPEAKER = "speaker"
    OTHER = "other"


class SwitchOp(StrEnum):
    """The operations an MQTT switch accepts on its command topic."""

    SET = "set"
    STATUS = "status"


DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_TRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2
