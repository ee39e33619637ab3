"""EscposPrinter: a receipt or kitchen printer on raw TCP (port 9100), DLE EOT status around every job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from types import TracebackType
from typing import Self

from ..heartbeat import Clock
from ..retry import retry
from .codec import (
    PrinterStatus,
    PrintJob,
    PrintReceipt,
    decode_status,
    render,
    status_fault,
    status_query,
    status_warnings,
)
from .const import (
    DEFAULT_BACKOFF_S,
    DEFAULT_PORT,
    DEFAULT_PROFILE,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TRIES,
    STATUS_QUERIES,
    PrinterProfile,
)
from .exceptions import PrinterOffline, PrinterStatusError, PrinterTimeout

logger = logging.getLogger(__name__)

# Failures after which a status query is worth another try on a new connection.
RETRIED = (PrinterTimeout, PrinterOffline, PrinterStatusError)


class EscposPrinter:
    """Async context manager: one TCP connection to the printer, reopened after any failure.

    `status()` queries DLE EOT 1-4 and raises the fault it finds; `print(job)` checks the status,
    sends the job once (never re-sent: a retry could print twice) and checks the status again.
    """

    def __init__(
        self,
        device_id: str,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        profile: PrinterProfile = DEFAULT_PROFILE,
        timeout: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        clock: Clock = time.time,
    ) -> None:
        self.device_id = device_id
        self.host = host
        self.port = port
        self.profile = profile
        # The last status read (read paths do no I/O).
        self.last_status: PrinterStatus | None = None
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._clock = clock
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._serial = asyncio.Lock()
        self._log = {"device_id": device_id, "host": host, "port": port}

    async def __aenter__(self) -> Self:
        try:
            async with self._serial, asyncio.timeout(self._timeout):
                await self._connection()
        except (OSError, TimeoutError) as err:
            logger.warning("printer not reachable yet", extra={**self._log, "error": repr(err)})
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
        """True while the TCP connection is open."""
        return self._stream is not None and not self._stream[1].is_closing()

    async def status(self) -> PrinterStatus:
        """Query DLE EOT 1-4; returns the status of a ready printer or raises the fault it reports."""
        async with self._serial:
            status = await self._checked_status("status")
        return status

    async def print(self, job: PrintJob) -> PrintReceipt:
        """Print `job`: status before (nothing is sent on a fault), the job, status after."""
        data = render(job, self.profile)
        log_extra = {**self._log, "job_id": job.job_id, "bytes": len(data)}
        async with self._serial:
            await self._checked_status("before job")
            await self._send(data, job)
            after = await self._checked_status(f"after job {job.job_id or '(unnamed)'}")
        warnings = status_warnings(after)
        logger.info("printed", extra={**log_extra, "warnings": list(warnings)})
        return PrintReceipt(job.job_id, len(data), after, warnings)

    # ---- internals ----

    async def _checked_status(self, when: str) -> PrinterStatus:
        status = await retry(
            self._query,
            tries=self._tries,
            backoff=self._backoff,
            retry_on=RETRIED,
            log_extra={**self._log, "when": when},
        )
        self.last_status = status
        fault = status_fault(status)
        if fault is not None:
            logger.warning("printer fault", extra={**self._log, "when": when, "code": fault.code})
            raise type(fault)(f"printer {self.device_id} ({when}): {fault}")
        return status

    async def _query(self) -> PrinterStatus:
        replies = bytearray()
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await self._connection()
                # One query at a time: every reply is one byte, and only its order tells them apart.
                for n in STATUS_QUERIES:
                    writer.write(status_query(n))
                    await writer.drain()
                    replies += await reader.readexactly(1)
            return decode_status(bytes(replies), at=self._clock())
        except PrinterStatusError:
            self._close()  # what else is in the pipe cannot be trusted either
            raise
        except TimeoutError as err:
            self._close()  # a late reply would be taken for the next query's
            raise PrinterTimeout(f"printer {self.device_id}: no status within {self._timeout}s") from err
        except asyncio.IncompleteReadError as err:
            self._close()
            raise PrinterStatusError(
                f"printer {self.device_id} closed the connection after {len(replies)} of 4 status bytes"
            ) from err
        except OSError as err:
            self._close()
            raise PrinterOffline(f"printer {self.device_id} unreachable: {err!r}") from err

    async def _send(self, data: bytes, job: PrintJob) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                _, writer = await self._connection()
                writer.write(data)
                await writer.drain()
        except TimeoutError as err:
            self._close()
            raise PrinterTimeout(f"printer {self.device_id}: job {job.job_id!r} not taken in time") from err
        except OSError as err:
            self._close()
            raise PrinterOffline(f"printer {self.device_id}: job {job.job_id!r} not sent: {err!r}") from err

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._stream is not None and not self._stream[1].is_closing():
            return self._stream
        self._close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._stream = (reader, writer)
        logger.info("printer connected", extra=self._log)
        return self._stream

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream[1].close()
