"""The MQTT transport shared by every MQTT device driver: one broker connection per process."""

from __future__ import annotations

from .client import MessageCallback, MqttBus
from .codec import decode_heartbeat, device_topic
from .exceptions import MqttError, MqttNotConnected, MqttPayloadError, MqttPublishError
from .heartbeat import HeartbeatWatch

__all__ = [
    "HeartbeatWatch",
    "MessageCallback",
    "MqttBus",
    "MqttError",
    "MqttNotConnected",
    "MqttPayloadError",
    "MqttPublishError",
    "decode_heartbeat",
    "device_topic",
]
