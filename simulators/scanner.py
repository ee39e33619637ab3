"""Simulated code scanners: one publishing scans over MQTT, one serving lines over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Self

from .mqtt_device import DEFAULT_WAIT_S, Clock, SimulatedMqttDevice

logger = logging.getLogger(__name__)


class SimulatedMqttScanner(SimulatedMqttDevice):
    """Publishes each scan on `gh/dev/<id>/scan` (QoS 1, UTF-8 text, no newline)."""

    listens_for_commands = False

    def __init__(
        self, host: str, port: int, device_id: str, *, heartbeat_s: float = 30.0, clock: Clock = time.time
    ) -> None:
        super().__init__(host, port, device_id, heartbeat_s=heartbeat_s, battery=None, clock=clock)
        self.scans = 0

    async def scan(self, text: str) -> None:
        """Someone holds a code to the scanner."""
        if await self.publish("scan", text.encode()):
            self.scans += 1

    async def send_raw(self, payload: bytes) -> None:
        """Publish arbitrary bytes as a scan (fault injection)."""
        await self.publish("scan", payload)


class SimulatedTcpScanner:
    """A scanner's serial-to-Ethernet adapter: a TCP server writing each scan as a line to every client."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, line_end: bytes = b"\r\n") -> None:
        self.host = host
        self.port = port
        self.line_end = line_end
        self.scans = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._client_joined = asyncio.Condition()

    async def __aenter__(self) -> Self:
        await self.come_online()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.go_offline()

    @property
    def offline(self) -> bool:
        """True while not listening."""
        return self._server is None

    @property
    def clients(self) -> int:
        """How many clients are connected now."""
        return len(self._writers)

    async def come_online(self) -> None:
        """Listen (on the same port as before, once one was chosen)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._on_client, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("simulated tcp scanner listening", extra={"host": self.host, "port": self.port})

    async def go_offline(self) -> None:
        """Stop listening and drop every client (the adapter loses power)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if server is not None:
            await server.wait_closed()

    async def wait_client(self, timeout: float = DEFAULT_WAIT_S) -> None:  # noqa: ASYNC109
        """Wait until at least one client is connected."""
        async with asyncio.timeout(timeout), self._client_joined:
            await self._client_joined.wait_for(lambda: bool(self._writers))

    async def scan(self, text: str) -> None:
        """Someone holds a code to the scanner: one line to every client."""
        await self.send_raw(text.encode() + self.line_end)
        self.scans += 1

    async def send_raw(self, data: bytes) -> None:
        """Write arbitrary bytes to every client (fault injection: garbage, over-long lines)."""
        for writer in list(self._writers):
            try:
                writer.write(data)
                await writer.drain()
            except OSError:
                self._writers.discard(writer)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self.accepted += 1
        self._writers.add(writer)
        async with self._client_joined:
            self._client_joined.notify_all()
        try:
            # A scanner ignores what the host sends; a reset just ends the connection.
            with contextlib.suppress(ConnectionError):
                while await reader.read(1024):
                    continue
        finally:
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._handlers.discard(task)
