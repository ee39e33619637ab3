"""ModbusPowerSwitch: a relay board on Modbus TCP; channel n is coil n, every write is read back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from pymodbus.client import AsyncModbusTcpClient

from ..modbus import ModbusErrors, ModbusLink
from .codec import check_channel, coil_address, coil_value
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES, DEFAULT_UNIT
from .exceptions import PowerOffline, PowerReplyError, PowerTimeout

ERRORS = ModbusErrors(offline=PowerOffline, timeout=PowerTimeout, reply=PowerReplyError)


class ModbusPowerSwitch:
    """Async context manager: connects on entry (a dead switch is retried on each command)."""

    def __init__(
        self,
        device_id: str,
        host: str,
        port: int,
        *,
        unit: int = DEFAULT_UNIT,
        channels: int = 1,
        timeout: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF_S,
    ) -> None:
        if channels < 1:
            raise ValueError("a switch has at least one channel")
        self.device_id = device_id
        self.host = host
        self.port = port
        self.unit = unit
        self.channels = channels
        # The last value read back per channel (read paths do no I/O).
        self.last_states: dict[int, bool] = {}
        self._link = ModbusLink(
            device_id, host, port, timeout=timeout, errors=ERRORS, tries=tries, backoff=backoff
        )
        self._log = {"device_id": device_id, "host": host, "port": port, "unit": unit}

    async def __aenter__(self) -> Self:
        await self._link.start("power switch", self._log)
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
        """True while the TCP connection to the switch is up."""
        return self._link.connected

    async def set(self, on: bool, channel: int = 0) -> bool:
        """Write the channel's coil, read it back, and return the read-back value."""
        check_channel(channel, self.channels)
        return await self._command("set", lambda client: self._write_and_read(client, channel, on), channel)

    async def state(self, channel: int = 0) -> bool:
        """Read the channel's coil from the switch."""
        check_channel(channel, self.channels)
        return await self._command("state", lambda client: self._read(client, channel), channel)

    # ---- internals ----

    async def _command(
        self, op: str, action: Callable[[AsyncModbusTcpClient], Awaitable[bool]], channel: int
    ) -> bool:
        value = await self._link.command(action, {**self._log, "op": op, "channel": channel})
        self.last_states[channel] = value
        return value

    async def _write_and_read(self, client: AsyncModbusTcpClient, channel: int, on: bool) -> bool:
        address = coil_address(channel)
        self._link.check(await client.write_coil(address, on, device_id=self.unit), "write_coil")
        value = await self._read(client, channel)
        if value != on:
            raise PowerReplyError(f"channel {channel} read back {value} after writing {on}")
        return value

    async def _read(self, client: AsyncModbusTcpClient, channel: int) -> bool:
        result = self._link.check(
            await client.read_coils(coil_address(channel), count=1, device_id=self.unit), "read_coils"
        )
        return coil_value(result.bits)
