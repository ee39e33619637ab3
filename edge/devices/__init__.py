"""The store's devices: driver objects built from cached device records, and the room actuators."""

from edge.devices.manager import DeviceManager, DeviceStatus
from edge.devices.registry import BUILDERS, BuiltDevice, DeviceConfigError, DriverTiming

__all__ = ["BUILDERS", "BuiltDevice", "DeviceConfigError", "DeviceManager", "DeviceStatus", "DriverTiming"]
