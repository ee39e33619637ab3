"""The Modbus TCP plumbing shared by Modbus device drivers (power switches, gates)."""

from __future__ import annotations

from .client import ModbusErrors, ModbusLink

__all__ = ["ModbusErrors", "ModbusLink"]
