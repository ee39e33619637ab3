"""Wire constants of locks: states, operations, which state answers which command, the BLE GATT layout."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final


class LockState(StrEnum):
    """The lock states a device reports (MQTT state topic, BLE state notification)."""

    LOCKED = "locked"
    UNLOCKING = "unlocking"
    UNLOCKED = "unlocked"
    LOCKING = "locking"
    JAMMED = "jammed"
    OPEN = "open"  # the door stands open (the bolt is necessarily retracted)


class LockOp(StrEnum):
    """The operations a lock accepts."""

    UNLOCK = "unlock"
    LOCK = "lock"
    STATUS = "status"


# The states that acknowledge each command (None: any state does).
ANSWERS: Final[dict[LockOp, frozenset[LockState] | None]] = {
    LockOp.UNLOCK: frozenset({LockState.UNLOCKED, LockState.OPEN}),
    LockOp.LOCK: frozenset({LockState.LOCKED}),
    LockOp.STATUS: None,
}
# States a device may report on its way to the answer; they do not answer a command.
TRANSIENT_STATES: Final = frozenset({LockState.UNLOCKING, LockState.LOCKING})

DOOR_VALUES: Final[dict[str, bool]] = {"open": True, "closed": False}

# The device's error code for a jam, in an error reply.
ERROR_JAMMED: Final = "jammed"

DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_TRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2

# ---- BLE (GATT) ----


@dataclass(frozen=True, slots=True)
class GattLayout:
    """The GATT service and characteristics of a BLE lock."""

    service: str
    command: str
    event: str
    battery_service: str
    battery_level: str


BLE_LOCK_GATT: Final = GattLayout(
    service="8e1f0001-5ad0-4c3e-9a4b-6761746568fe",
    command="8e1f0002-5ad0-4c3e-9a4b-6761746568fe",
    event="8e1f0003-5ad0-4c3e-9a4b-6761746568fe",
    battery_service="0000180f-0000-1000-8000-00805f9b34fb",
    battery_level="00002a19-0000-1000-8000-00805f9b34fb",
)

FRAME_MAGIC: Final = 0xA5
FRAME_VERSION: Final = 0x01


class FrameType(IntEnum):
    """The third byte of every frame."""

    COMMAND = 0x01
    STATE = 0x81
    ERROR = 0x82
    HEARTBEAT = 0x83


# Whole frame lengths, CRC included.
FRAME_LENGTHS: Final[dict[FrameType, int]] = {
    FrameType.COMMAND: 8,
    FrameType.STATE: 15,
    FrameType.ERROR: 8,
    FrameType.HEARTBEAT: 12,
}

BLE_OPS: Final[dict[LockOp, int]] = {LockOp.UNLOCK: 1, LockOp.LOCK: 2, LockOp.STATUS: 3}
BLE_STATES: Final[dict[int, LockState]] = {
    0: LockState.LOCKED,
    1: LockState.UNLOCKING,
    2: LockState.UNLOCKED,
    3: LockState.LOCKING,
    4: LockState.JAMMED,
    5: LockState.OPEN,
}
BLE_DOORS: Final[dict[int, bool | None]] = {0: False, 1: True, 255: None}
BLE_ERRORS: Final[dict[int, str]] = {
    1: "jammed",
    2: "bad_frame",
    3: "unknown_op",
    4: "low_battery",
    5: "busy",
}
BLE_BATTERY_UNKNOWN: Final = 255
SEQ_SPONTANEOUS: Final = 0
SEQ_MAX: Final = 0xFFFF

BLE_CONNECT_TIMEOUT_S: Final = 10.0
BLE_RECONNECT_MIN_S: Final = 0.1
BLE_RECONNECT_MAX_S: Final = 30.0
