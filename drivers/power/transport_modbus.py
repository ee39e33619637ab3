"""ModbusPowerSwitch: a relay board on Modbus TCP; channel n is coil n, every write is read back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self, TypeVar

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from ..retry import retry
from .codec import check_channel, coil_address, coil_value
from .const import (
    DEFAULT_BACKOFF_S,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TRIES,
    DEFAULT_UNIT,
    MODBUS_CLIENT_RETRIES,
)
from .exceptions import PowerError, PowerOffline, PowerReplyError, PowerTimeout

logger = logging.getLogger(__name__)

T = TypeVar("T")


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
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._client: AsyncModbusTcpClient | None = None
        self._serial = asyncio.Lock()
        self._log = {"device_id": device_id, "host": host, "port": port, "unit": unit}

    async def __aenter__(self) -> Self:
        try:
            async with self._serial:
                await self._run(self._connected_client)
        except PowerError as err:
            logger.warning("power switch not reachable yet", extra={**self._log, "error": str(err)})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    @property
    def connected(self) -> bool:
        """True while the TCP connection to the switch is up."""
        return self._client is not None and self._client.connected

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
        async def attempt() -> bool:
            return await self._run(lambda: self._with_client(action))

        async with self._serial:
            value = await retry(
                attempt,
                tries=self._tries,
                backoff=self._backoff,
                retry_on=(PowerError,),
                log_extra={**self._log, "op": op, "channel": channel},
            )
        self.last_states[channel] = value
        return value

    async def _with_client(self, action: Callable[[AsyncModbusTcpClient], Awaitable[bool]]) -> bool:
        client = await self._connected_client()
        return await action(client)

    async def _write_and_read(self, client: AsyncModbusTcpClient, channel: int, on: bool) -> bool:
        address = coil_address(channel)
        self._check(await client.write_coil(address, on, device_id=self.unit), "write_coil")
        value = await self._read(client, channel)
        if value != on:
            raise PowerReplyError(f"channel {channel} read back {value} after writing {on}")
        return value

    async def _read(self, client: AsyncModbusTcpClient, channel: int) -> bool:
        result = self._check(
            await client.read_coils(coil_address(channel), count=1, device_id=self.unit), "read_coils"
        )
        return coil_value(result.bits)

    @staticmethod
    def _check(result: ModbusPDU, what: str) -> ModbusPDU:
        if result.isError():
            raise PowerReplyError(f"{what} answered Modbus exception {result.exception_code}")
        return result

    async def _connected_client(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        if self._client is None:
            self._client = AsyncModbusTcpClient(
                self.host,
                port=self.port,
                name=self.device_id,
                timeout=self._timeout,
                retries=MODBUS_CLIENT_RETRIES,
                reconnect_delay=0,  # reconnects are ours: on the next try, after backoff
            )
        if not await self._client.connect():
            raise PowerOffline(f"cannot connect to {self.host}:{self.port}")
        logger.info("power switch connected", extra=self._log)
        return self._client

    async def _run(self, step: Callable[[], Awaitable[T]]) -> T:
        """One try: `step` inside the per-try timeout, pymodbus and socket errors translated once."""
        with self._translate():
            async with asyncio.timeout(self._timeout):
                return await step()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except PowerOffline:
            self._close()
            raise
        except PowerError:
            raise
        except TimeoutError as err:
            # A late answer would be mistaken for the next request's: start over on a new connection.
            self._close()
            raise PowerTimeout(f"no answer from {self.host}:{self.port} in {self._timeout}s") from err
        except ConnectionException as err:
            self._close()
            raise PowerOffline(f"connection to {self.host}:{self.port} failed: {err}") from err
        except ModbusIOException as err:
            self._close()
            raise PowerTimeout(f"no valid answer from {self.host}:{self.port}: {err}") from err
        except ModbusException as err:
            raise PowerReplyError(f"modbus error from {self.host}:{self.port}: {err}") from err
        except OSError as err:
            self._close()
            raise PowerOffline(f"socket error with {self.host}:{self.port}: {err}") from err

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
