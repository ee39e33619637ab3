"""Power switches (lights, AC, fresh air): the PowerSwitch interface, its errors, Modbus and MQTT drivers."""

from __future__ import annotations

from .client import PowerSwitch
from .codec import parse_channel_roles
from .const import ChannelRole
from .exceptions import PowerError, PowerOffline, PowerReplyError, PowerTimeout
from .transport_modbus import ModbusPowerSwitch
from .transport_mqtt import MqttPowerSwitch

__all__ = [
    "ChannelRole",
    "ModbusPowerSwitch",
    "MqttPowerSwitch",
    "PowerError",
    "PowerOffline",
    "PowerReplyError",
    "PowerSwitch",
    "PowerTimeout",
    "parse_channel_roles",
]
