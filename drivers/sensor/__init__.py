"""Sensors over MQTT: smoke alarms, emergency buttons and door contacts."""

from __future__ import annotations

from .client import Sensor
from .codec import SensorState
from .const import SensorKind
from .exceptions import SensorError, SensorKindError, SensorPayloadError
from .transport_mqtt import MqttSensor

__all__ = [
    "MqttSensor",
    "Sensor",
    "SensorError",
    "SensorKind",
    "SensorKindError",
    "SensorPayloadError",
    "SensorState",
]
