"""The MQTT transport shared by every MQTT device driver: one broker connection per process."""

from __future__ import annotations

from .client import MessageCallback, MqttBus
from .codec import device_topic
from .exceptions import MqttError, MqttNotConnected, MqttPayloadError, MqttPublishError

__all__ = [
    "MessageCallback",
    "MqttBus",
    "MqttError",
    "MqttNotConnected",
    "MqttPayloadError",
    "MqttPublishError",
    "device_topic",
]
