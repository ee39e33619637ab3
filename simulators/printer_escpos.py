"""SimulatedEscposPrinter: a receipt printer on raw TCP (port 9100 style) with paper, a cover and faults.

It parses the ESC/POS stream it is sent (text, line feeds, styles, QR codes, cuts) into printed
lines and receipts, and answers the real-time status query DLE EOT n (n = 1..4) per the ESC/POS
command reference. Written from the spec, not from the driver code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Self

logger = logging.getLogger(__name__)

ESC, GS, DLE, EOT, LF, CR = 0x1B, 0x1D, 0x10, 0x04, 0x0A, 0x0D
# Status bytes always carry bit 1 and bit 4 set, bits 0 and 7 clear.
FIXED = 0x12
GARBAGE_STATUS = 0xFF  # breaks every fixed bit
ENCODING = "gb18030"
STOP_TIMEOUT_S = 1.0
# ESC commands with one parameter byte (ESC E n, ESC a n, ESC d n, ESC ! n, ESC - n, ESC G n, ESC J n...).
ESC_ONE_ARG = frozenset(b"EadJ!-GMRtV{ ")


@dataclass(frozen=True, slots=True)
class PrintedLine:
    """One printed line: its text and the style it was printed in (a QR code prints as `[QR:<data>]`)."""

    text: str
    bold: bool = False
    align: int = 0
    double: bool = False


class _Incomplete(Exception):
    """The buffer ends inside a command: wait for more bytes."""


class SimulatedEscposPrinter:
    """Async context manager: a TCP server on host:port (0 = a free port, kept across restarts).

    State: `paper_out`, `paper_near_end`, `cover_open`, `offline` (reports offline, no cause),
    `cutter_error`, `paper_left` (lines until the roll runs out; None = endless).
    Fault injection on status replies: `drop_status` (never answer), `status_delay_s`,
    `garbage_status` (answer 0xFF), `truncate_status` (close the connection instead of answering),
    `scripted_status` (answer each query with the next of these bytes; once they run out, close
    the connection: a truncated reply);
    `go_offline()` / `come_online()` (stop and start listening, dropping connections).
    Output: `lines` (every printed line), `receipts` (the lines between cuts, one list per cut),
    `cuts`, `qr_codes`, `status_queries`, `received` (every byte that was not a status query).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.offline = False
        self.cutter_error = False
        self.paper_left: int | None = None
        self.drop_status = False
        self.status_delay_s = 0.0
        self.garbage_status = False
        self.truncate_status = False
        self.scripted_status: bytearray | None = None
        self.lines: list[PrintedLine] = []
        self.receipts: list[list[str]] = []
        self.cuts = 0
        self.qr_codes: list[str] = []
        self.status_queries = 0
        self.received = bytearray()
        self.accepted = 0
        self._current: list[str] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # ---- lifetime ----

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
    def listening(self) -> bool:
        """True while the TCP server accepts connections."""
        return self._server is not None

    async def come_online(self) -> None:
        """Listen (on the same port as before, once one was chosen)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._on_client, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("simulated escpos printer listening", extra={"host": self.host, "port": self.port})

    async def go_offline(self) -> None:
        """Stop listening and drop every connection (the printer is switched off)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # Aborted connections end their handlers; cancelling one would make asyncio log an error.
        handlers = set(self._handlers)
        if handlers:
            _, stuck = await asyncio.wait(handlers, timeout=STOP_TIMEOUT_S)
            for task in stuck:
                task.cancel()
        if server is not None:
            await server.wait_closed()

    @property
    def text(self) -> list[str]:
        """The text of every printed line."""
        return [line.text for line in self.lines]

    # ---- status (DLE EOT n) ----

    def status_byte(self, n: int) -> int:
        """The reply to DLE EOT n in the printer's current state."""
        stopped = self.paper_out or self.cover_open or self.offline or self.cutter_error
        if n == 1:
            return FIXED | (0x08 if stopped else 0)
        if n == 2:
            return (
                FIXED
                | (0x04 if self.cover_open else 0)
                | (0x20 if self.paper_out else 0)
                | (0x40 if self.cutter_error else 0)
            )
        if n == 3:
            return FIXED | (0x08 if self.cutter_error else 0)
        near_end = self.paper_near_end or self.paper_out
        return FIXED | (0x0C if near_end else 0) | (0x60 if self.paper_out else 0)

    async def _answer_status(self, n: int, writer: asyncio.StreamWriter) -> None:
        self.status_queries += 1
        if self.drop_status:
            return
        script = self.scripted_status
        if self.truncate_status or (script is not None and not script):
            writer.transport.abort()
            raise ConnectionResetError("status reply truncated on purpose")
        if self.status_delay_s > 0:
            await asyncio.sleep(self.status_delay_s)
        if script is not None:
            reply = script.pop(0)
        else:
            reply = GARBAGE_STATUS if self.garbage_status else self.status_byte(n)
        writer.write(bytes([reply]))
        await writer.drain()

    # ---- the stream ----

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._writers.add(writer)
        self.accepted += 1
        parser = _Parser(self)
        try:
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(4096):
                    for n in parser.feed(chunk):
                        await self._answer_status(n, writer)
        finally:
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    def _print_line(self, line: PrintedLine) -> None:
        if self.paper_out or self.cover_open or self.offline:
            return  # a stopped printer prints nothing
        if self.paper_left is not None:
            if self.paper_left <= 0:
                self.paper_out = True
                return
            self.paper_left -= 1
        self.lines.append(line)
        self._current.append(line.text)

    def _cut(self) -> None:
        if self.paper_out or self.cover_open or self.offline:
            return
        if self.cutter_error:
            return
        self.cuts += 1
        self.receipts.append(self._current)
        self._current = []


class _Parser:
    """Incremental ESC/POS parser for one connection: styles, text, QR, cuts; yields DLE EOT queries."""

    def __init__(self, printer: SimulatedEscposPrinter) -> None:
        self._printer = printer
        self._buffer = bytearray()
        self._text = bytearray()
        self._bold = False
        self._align = 0
        self._double = False
        self._qr: str | None = None

    def feed(self, data: bytes) -> list[int]:
        """Consume bytes; return the DLE EOT queries (n) found, in order."""
        self._buffer += data
        queries: list[int] = []
        while self._buffer:
            try:
                used, query = self._step(self._buffer)
            except _Incomplete:
                break
            if query is None:
                self._printer.received += self._buffer[:used]
            else:
                queries.append(query)
            del self._buffer[:used]
        return queries

    def _need(self, buffer: bytearray, count: int) -> None:
        if len(buffer) < count:
            raise _Incomplete

    def _step(self, buffer: bytearray) -> tuple[int, int | None]:
        first = buffer[0]
        if first == DLE:
            self._need(buffer, 3)
            if buffer[1] == EOT:
                return 3, buffer[2] if 1 <= buffer[2] <= 4 else None
            return 1, None
        if first == ESC:
            return self._esc(buffer), None
        if first == GS:
            return self._gs(buffer), None
        if first == LF:
            self._line()
        elif first >= 0x20:
            self._text.append(first)
        return 1, None

    def _esc(self, buffer: bytearray) -> int:
        self._need(buffer, 2)
        command = buffer[1]
        if command == ord("@"):
            self._text.clear()
            self._bold, self._align, self._double = False, 0, False
            return 2
        if command not in ESC_ONE_ARG:
            return 2
        self._need(buffer, 3)
        value = buffer[2]
        if command == ord("E"):
            self._bold = bool(value & 1)
        elif command == ord("a"):
            self._align = value % 48 if value >= 48 else value
        elif command == ord("d"):
            if self._text:
                self._line()
            for _ in range(value):
                self._printer._print_line(PrintedLine(""))
        return 3

    def _gs(self, buffer: bytearray) -> int:
        self._need(buffer, 2)
        command = buffer[1]
        if command == ord("!"):
            self._need(buffer, 3)
            self._double = buffer[2] != 0
            return 3
        if command == ord("V"):
            self._need(buffer, 3)
            mode = buffer[2]
            length = 4 if mode in (65, 66, 97, 98, 103, 104) else 3
            self._need(buffer, length)
            if self._text:
                self._line()
            self._printer._cut()
            return length
        if command == ord("(") and len(buffer) >= 3 and buffer[2] == ord("k"):
            self._need(buffer, 5)
            size = buffer[3] | buffer[4] << 8
            self._need(buffer, 5 + size)
            self._qr_function(bytes(buffer[5 : 5 + size]))
            return 5 + size
        if command == ord("("):
            self._need(buffer, 3)
        return 2

    def _qr_function(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:
            return
        function = body[1]
        if function == 0x50:  # store the symbol data (after m = 48)
            self._qr = body[3:].decode(ENCODING, errors="replace")
        elif function == 0x51 and self._qr is not None:  # print the stored symbol
            self._printer.qr_codes.append(self._qr)
            self._printer._print_line(PrintedLine(f"[QR:{self._qr}]", align=self._align))

    def _line(self) -> None:
        text = self._text.decode(ENCODING, errors="replace").rstrip("\r")
        self._text.clear()
        self._printer._print_line(PrintedLine(text, self._bold, self._align, self._double))
