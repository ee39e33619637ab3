"""ModbusGate: a turnstile on Modbus TCP; a coil pulse opens it, input registers report it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from pymodbus.client import AsyncModbusTcpClient

from ..heartbeat import Clock
from ..modbus import ModbusErrors, ModbusLink
from .codec import GateReading, GateStatus, decode_registers, open_outcome, register_span
from .const import (
    DEFAULT_BACKOFF_S,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TRIES,
    DEFAULT_UNIT,
    GATE_REGISTERS,
    GateRegisterMap,
)
from .exceptions import GateJammed, GateOffline, GateReplyError, GateTimeout

ERRORS = ModbusErrors(offline=GateOffline, timeout=GateTimeout, reply=GateReplyError)


class ModbusGate:
    """Async context manager: connects on entry (a dead gate is retried on each command)."""

    def __init__(
        self,
        device_id: str,
        host: str,
        port: int,
        *,
        unit: int = DEFAULT_UNIT,
        registers: GateRegisterMap = GATE_REGISTERS,
        timeout: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        clock: Clock = time.time,
    ) -> None:
        self.device_id = device_id
        self.unit = unit
        self.registers = registers
        # The last status read (read paths do no I/O); `at` is this driver's clock.
        self.last_status: GateStatus | None = None
        self._clock = clock
        self._link = ModbusLink(
            device_id, host, port, timeout=timeout, errors=ERRORS, tries=tries, backoff=backoff
        )
        self._log = {"device_id": device_id, "host": host, "port": port, "unit": unit}

    async def __aenter__(self) -> Self:
        await self._link.start("gate", self._log)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._link.close()

    @property
    def connected(self) -> bool:
        """True while the TCP connection to the gate is up."""
        return self._link.connected

    async def open(self) -> GateStatus:
        """Pulse the open coil, then read the status back: it must show the gate open."""
        return await self._command("open", self._pulse_and_read)

    async def status(self) -> GateStatus:
        """Read the pass counter and status registers."""
        return await self._command("status", self._read_status)

    async def _command(
        self, op: str, action: Callable[[AsyncModbusTcpClient], Awaitable[GateStatus]]
    ) -> GateStatus:
        status = await self._link.command(action, {**self._log, "op": op})
        self.last_status = status
        return status

    async def _pulse_and_read(self, client: AsyncModbusTcpClient) -> GateStatus:
        self._link.check(
            await client.write_coil(self.registers.open_coil, True, device_id=self.unit), "write_coil"
        )
        return open_outcome(await self._read(client))

    async def _read_status(self, client: AsyncModbusTcpClient) -> GateStatus:
        reading = await self._read(client)
        if reading.jammed:
            self.last_status = reading.status
            raise GateJammed(f"gate {self.device_id} reports its arm jammed")
        return reading.status

    async def _read(self, client: AsyncModbusTcpClient) -> GateReading:
        first, count = register_span(self.registers)
        result = self._link.check(
            await client.read_input_registers(first, count=count, device_id=self.unit), "read_input_registers"
        )
        return decode_registers(result.registers, self.registers, at=self._clock())
