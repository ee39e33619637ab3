"""Wire constants of entrance gates / turnstiles: the Modbus register map and the MQTT operations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


@dataclass(frozen=True, slots=True)
class GateRegisterMap:
    """Where a Modbus gate keeps its open pulse, pass counter and status (0-based addresses)."""

    open_coil: int = 0
    counter_register: int = 0  # input registers n, n+1: u32 pass counter, high word first
    status_register: int = 2  # input register: status bits
    pulse_register: int = 0  # holding register: pulse length in ms (the gate's own setting)
    open_bit: int = 0
    jammed_bit: int = 1


GATE_REGISTERS: Final = GateRegisterMap()
DEFAULT_UNIT: Final = 1
COUNTER_MODULUS: Final = 1 << 32


class GateOp(StrEnum):
    """The operations an MQTT gate accepts on its command topic."""

    OPEN = "open"
    STATUS = "status"


ERROR_JAMMED: Final = "jammed"

DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_TRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2
