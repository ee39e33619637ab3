"""Door locks: the Lock interface, its status values and errors, and the MQTT implementation."""

from __future__ import annotations

from .client import Lock
from .codec import Heartbeat, LockStatus
from .const import LockOp, LockState
from .exceptions import LockError, LockJammed, LockReplyError, LockTimeout
from .transport_mqtt import MqttLock, StatusCallback

__all__ = [
    "Heartbeat",
    "Lock",
    "LockError",
    "LockJammed",
    "LockOp",
    "LockReplyError",
    "LockState",
    "LockStatus",
    "LockTimeout",
    "MqttLock",
    "StatusCallback",
]
