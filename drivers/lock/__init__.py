"""Door locks: the Lock interfaces, status values and errors, and the MQTT and BLE implementations."""

from __future__ import annotations

from ..heartbeat import Heartbeat
from .client import Lock, MonitoredLock
from .codec import LockStatus
from .const import BLE_LOCK_GATT, GattLayout, LockOp, LockState
from .exceptions import LockDoorOpen, LockError, LockJammed, LockReplyError, LockTimeout
from .transport_ble import BleLock
from .transport_mqtt import MqttLock, StatusCallback

__all__ = [
    "BLE_LOCK_GATT",
    "BleLock",
    "GattLayout",
    "Heartbeat",
    "Lock",
    "LockDoorOpen",
    "LockError",
    "LockJammed",
    "LockOp",
    "LockReplyError",
    "LockState",
    "LockStatus",
    "LockTimeout",
    "MonitoredLock",
    "MqttLock",
    "StatusCallback",
]
