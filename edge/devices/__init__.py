"""The store's devices: drivers built from the cached device records, availability, the actuators."""

from edge.devices.availability import Availability
from edge.devices.manager import DeviceManager, DeviceStatus, ManagerTiming
from edge.devices.registry import BUILDERS, BuiltDevice, DeviceConfigError, DriverTiming

__all__ = [
    "BUILDERS",
    "Availability",
    "BuiltDevice",
    "DeviceConfigError",
    "DeviceManager",
    "DeviceStatus",
    "DriverTiming",
    "ManagerTiming",
]
