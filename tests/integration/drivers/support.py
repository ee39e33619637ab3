"""Helpers for driver tests: waiting on conditions (with a deadline) and collecting scans."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from drivers.scanner import Scan


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `condition()` holds, checking every 5 ms; TimeoutError after `timeout` seconds.

    For state with no event to wait on (a connection flag flipping inside a library).
    """
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


class ScanInbox:
    """A scan handler that keeps what it gets and lets a test wait for the n-th scan."""

    def __init__(self) -> None:
        self.scans: list[Scan] = []
        self._arrived = asyncio.Condition()

    async def __call__(self, scan: Scan) -> None:
        async with self._arrived:
            self.scans.append(scan)
            self._arrived.notify_all()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[str]:
        """Wait until `count` scans arrived; return their texts."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.scans) >= count)
        return [scan.text for scan in self.scans]


class TcpProxy:
    """A loopback TCP forwarder whose `cut()` drops every connection at once, like a dead link.

    amqtt's Broker.shutdown() can hang while clients are connected (its reader task may swallow
    the cancel), so tests cut the clients off here first and restart the broker with nobody on it.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        """Listen (on the same port as before, once one was chosen)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and abort every forwarded connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for end in (writer, up_writer):
                end.transport.abort()
                self._writers.discard(end)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
