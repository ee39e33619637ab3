"""TcpLineScanner: a scanner behind a serial-to-Ethernet adapter that serves one code per line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from ..retry import Backoff
from .client import ScanHandler, deliver
from .codec import LineSplitter, Scan, decode_scan
from .const import CONNECT_TIMEOUT_S, MAX_LINE, READ_CHUNK, RECONNECT_MAX_S, RECONNECT_MIN_S
from .exceptions import ScanDecodeError

logger = logging.getLogger(__name__)


class TcpLineScanner:
    """Connects to host:port, reads lines forever and reconnects with backoff and jitter.

    Reads have no timeout (a scanner is silent for hours); TCP keepalive finds a dead peer.
    """

    def __init__(
        self,
        device_id: str,
        host: str,
        port: int,
        handler: ScanHandler,
        *,
        max_line: int = MAX_LINE,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        reconnect_min: float = RECONNECT_MIN_S,
        reconnect_max: float = RECONNECT_MAX_S,
    ) -> None:
        if max_line < 1:
            raise ValueError("max_line must be >= 1")
        self.device_id = device_id
        self.host = host
        self.port = port
        self.dropped = 0
        self.connects = 0
        self._handler = handler
        self._max_line = max_line
        self._connect_timeout = connect_timeout
        self._backoff = Backoff(reconnect_min, reconnect_max)
        self._connected = False
        self._task: asyncio.Task[None] | None = None
        self._log = {"device_id": device_id, "host": host, "port": port}

    @property
    def connected(self) -> bool:
        """True while a TCP connection to the scanner is open."""
        return self._connected

    async def start(self) -> None:
        """Start the connect-and-read loop in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"tcp-scanner {self.device_id}")

    async def stop(self) -> None:
        """Stop the loop and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            connects = self.connects
            try:
                await self._session()
            except (OSError, TimeoutError) as err:
                failures = 0 if self.connects != connects else failures + 1
                # Say it once per outage, not once per attempt.
                logger.log(
                    logging.WARNING if failures <= 1 else logging.DEBUG,
                    "tcp scanner connection failed",
                    extra={**self._log, "error": repr(err), "attempt": failures},
                )
            except Exception:
                logger.exception("tcp scanner session crashed", extra=self._log)
            await asyncio.sleep(self._backoff.next())

    async def _session(self) -> None:
        async with asyncio.timeout(self._connect_timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._backoff.reset()
            self._connected = True
            self.connects += 1
            logger.info("tcp scanner connected", extra=self._log)
            await self._read(reader)
            logger.warning("tcp scanner closed the connection", extra=self._log)
        finally:
            self._connected = False
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        splitter = LineSplitter(self._max_line)
        while chunk := await reader.read(READ_CHUNK):
            fed = splitter.feed(chunk)
            if fed.dropped:
                self.dropped += fed.dropped
                logger.warning(
                    "tcp scanner line too long, dropped",
                    extra={**self._log, "max_line": self._max_line, "dropped": fed.dropped},
                )
            for line in fed.lines:
                try:
                    text = decode_scan(line, max_len=self._max_line)
                except ScanDecodeError as err:
                    if line.strip():
                        self.dropped += 1
                        logger.warning("tcp scanner sent a bad scan", extra={**self._log, "error": str(err)})
                    continue
                await deliver(self._handler, Scan(self.device_id, text))
