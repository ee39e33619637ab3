"""Wire constants of power switches: the Modbus coil map and the MQTT switch operations."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

# Modbus TCP: channel n is coil COIL_BASE + n of unit `unit`; a read of one coil returns 8 bits.
COIL_BASE: Final = 0
DEFAULT_UNIT: Final = 1
MODBUS_PORT: Final = 502
# pymodbus's own per-request retries stay off: the driver retries whole set-and-read-back tries.
MODBUS_CLIENT_RETRIES: Final = 0

# Upper bound on the channels a switch may report (a 256-way relay board is already absurd).
MAX_CHANNELS: Final = 256


class SwitchOp(StrEnum):
    """The operations an MQTT switch accepts on its command topic."""

    SET = "set"
    STATUS = "status"


DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_TRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2
