"""Wire constants of MQTT locks: states, operations and which state completes which command."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class LockState(StrEnum):
    """The lock states a device reports on its state topic."""

    LOCKED = "locked"
    UNLOCKING = "unlocking"
    UNLOCKED = "unlocked"
    LOCKING = "locking"
    JAMMED = "jammed"


class LockOp(StrEnum):
    """The operations a lock accepts on its command topic."""

    UNLOCK = "unlock"
    LOCK = "lock"
    STATUS = "status"


# The state that acknowledges each command (None: any state does).
FINAL_STATE: Final[dict[LockOp, LockState | None]] = {
    LockOp.UNLOCK: LockState.UNLOCKED,
    LockOp.LOCK: LockState.LOCKED,
    LockOp.STATUS: None,
}
# States a device may report on its way to the final one; they do not answer a command.
TRANSIENT_STATES: Final = frozenset({LockState.UNLOCKING, LockState.LOCKING})

DOOR_VALUES: Final[dict[str, bool]] = {"open": True, "closed": False}

# The device's error code for a jam, in an error reply.
ERROR_JAMMED: Final = "jammed"

BATTERY_RANGE: Final = range(101)

DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_TRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2
