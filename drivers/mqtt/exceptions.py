"""Errors of the MQTT transport."""

from __future__ import annotations


class MqttError(Exception):
    """Base error of the MQTT transport; `code` is stable."""

    code = "mqtt_error"


class MqttNotConnected(MqttError):
    """The bus has no broker connection right now (it keeps reconnecting in the background)."""

    code = "not_connected"


class MqttPublishError(MqttError):
    """The broker did not accept or acknowledge a publish."""

    code = "publish_failed"


class MqttPayloadError(MqttError, ValueError):
    """A payload is not the JSON object the protocol expects."""

    code = "bad_payload"
