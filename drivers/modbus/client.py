"""ModbusLink: one pymodbus TCP client per device, one try at a time, errors translated once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from ..retry import retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

# pymodbus's own per-request retries stay off: drivers retry whole tries (write and read-back).
CLIENT_RETRIES = 0


@dataclass(frozen=True, slots=True)
class ModbusErrors:
    """The device driver's own error classes each kind of Modbus failure becomes."""

    offline: type[Exception]
    timeout: type[Exception]
    reply: type[Exception]


class ModbusLink:
    """A device's Modbus TCP link: `call(step)` is one translated try; `command(step)` one retried command."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        *,
        timeout: float,
        errors: ModbusErrors,
        tries: int = 1,
        backoff: float = 0.0,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.timeout = timeout
        self.errors = errors
        self.tries = tries
        self.backoff = backoff
        self._client: AsyncModbusTcpClient | None = None
        self._serial = asyncio.Lock()
        self._log = {"device_id": name, "host": host, "port": port}

    @property
    def connected(self) -> bool:
        """True while the TCP connection is up."""
        return self._client is not None and self._client.connected

    async def call(self, step: Callable[[AsyncModbusTcpClient], Awaitable[T]]) -> T:
        """Run `step(client)` connected and inside the timeout; failures become the device's errors."""
        with self._translate():
            async with asyncio.timeout(self.timeout):
                client = await self._connected_client()
                return await step(client)

    async def connect(self) -> None:
        """Connect now (one try, translated like `call`)."""
        with self._translate():
            async with asyncio.timeout(self.timeout):
                await self._connected_client()

    async def start(self, what: str, log_extra: Mapping[str, object]) -> None:
        """Connect now, in turn with commands; a dead device is only logged (each command tries again)."""
        errors = self.errors
        try:
            async with self._serial:
                await self.connect()
        except (errors.offline, errors.timeout, errors.reply) as err:
            logger.warning("%s not reachable yet", what, extra={**log_extra, "error": str(err)})

    async def command(
        self, step: Callable[[AsyncModbusTcpClient], Awaitable[T]], log_extra: Mapping[str, object]
    ) -> T:
        """Run `step` as one command: after the one before it, retried on every translated error."""
        errors = self.errors
        async with self._serial:
            return await retry(
                lambda: self.call(step),
                tries=self.tries,
                backoff=self.backoff,
                retry_on=(errors.offline, errors.timeout, errors.reply),
                log_extra=log_extra,
            )

    def check(self, result: ModbusPDU, what: str) -> ModbusPDU:
        """Return `result`, or raise the reply error for an exception response."""
        if result.isError():
            raise self.errors.reply(f"{what} answered Modbus exception {result.exception_code}")
        return result

    def close(self) -> None:
        """Drop the connection (the next call connects again)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected_client(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        if self._client is None:
            self._client = AsyncModbusTcpClient(
                self.host,
                port=self.port,
                name=self.name,
                timeout=self.timeout,
                retries=CLIENT_RETRIES,
                reconnect_delay=0,  # reconnects are the driver's: on the next try, after backoff
            )
        if not await self._client.connect():
            raise self.errors.offline(f"cannot connect to {self.host}:{self.port}")
        logger.info("modbus device connected", extra=self._log)
        return self._client

    @contextmanager
    def _translate(self) -> Iterator[None]:
        errors = self.errors
        where = f"{self.host}:{self.port}"
        try:
            yield
        except (errors.offline, errors.timeout):
            self.close()
            raise
        except errors.reply:
            raise
        except TimeoutError as err:
            # A late answer would be taken for the next request's: start over on a new connection.
            self.close()
            raise errors.timeout(f"no answer from {where} in {self.timeout}s") from err
        except ConnectionException as err:
            self.close()
            raise errors.offline(f"connection to {where} failed: {err}") from err
        except ModbusIOException as err:
            self.close()
            raise errors.timeout(f"no valid answer from {where}: {err}") from err
        except ModbusException as err:
            raise errors.reply(f"modbus error from {where}: {err}") from err
        except OSError as err:
            self.close()
            raise errors.offline(f"socket error with {where}: {err}") from err
