"""Entrance gates and turnstiles: the Gate interface, its status and errors, Modbus and MQTT drivers."""

from __future__ import annotations

from .client import Gate
from .codec import GateStatus
from .const import GATE_REGISTERS, GateOp, GateRegisterMap
from .exceptions import GateError, GateJammed, GateOffline, GateReplyError, GateTimeout
from .transport_modbus import ModbusGate
from .transport_mqtt import MqttGate

__all__ = [
    "GATE_REGISTERS",
    "Gate",
    "GateError",
    "GateJammed",
    "GateOffline",
    "GateOp",
    "GateRegisterMap",
    "GateReplyError",
    "GateStatus",
    "GateTimeout",
    "ModbusGate",
    "MqttGate",
]
