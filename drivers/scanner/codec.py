"""Pure bytes <-> values for scanners: scan payloads and the line framing of TCP scanners."""

from __future__ import annotations

from dataclasses import dataclass, field

from .const import LINE_END, MAX_LINE, OPTIONAL_CR, TEXT_ENCODING
from .exceptions import ScanDecodeError


@dataclass(frozen=True, slots=True)
class Scan:
    """One scanned code from one scanner."""

    device_id: str
    text: str


def decode_scan(raw: bytes, *, max_len: int = MAX_LINE) -> str:
    """The text of one scan (surrounding whitespace removed), or ScanDecodeError."""
    if len(raw) > max_len:
        raise ScanDecodeError(f"scan of {len(raw)} bytes exceeds {max_len}")
    try:
        text = raw.decode(TEXT_ENCODING).strip()
    except UnicodeDecodeError as err:
        raise ScanDecodeError(f"scan is not {TEXT_ENCODING}: {err}") from err
    if not text:
        raise ScanDecodeError("empty scan")
    return text


@dataclass(frozen=True, slots=True)
class Fed:
    """What one chunk of a byte stream produced: complete lines and how many were dropped as too long."""

    lines: list[bytes] = field(default_factory=list)
    dropped: int = 0


class LineSplitter:
    """Splits a byte stream on "\\n" (an optional "\\r" before it is removed).

    A line longer than `max_line` bytes is discarded up to its newline and counted once, without
    ever buffering more than `max_line + 1` bytes of it.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError("max_line must be >= 1")
        self.max_line = max_line
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> Fed:
        """Add bytes; return the lines they completed."""
        self._buffer += data
        lines: list[bytes] = []
        dropped = 0
        while True:
            end = self._buffer.find(LINE_END)
            if end < 0:
                # Room for a full line plus its "\r": anything past that is already too long.
                if not self._discarding and len(self._buffer) > self.max_line + len(OPTIONAL_CR):
                    self._discarding = True
                    dropped += 1
                if self._discarding:
                    self._buffer.clear()
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + len(LINE_END)]
            if self._discarding:
                self._discarding = False
                continue
            if line.endswith(OPTIONAL_CR):
                line = line[: -len(OPTIONAL_CR)]
            if len(line) > self.max_line:
                dropped += 1
                continue
            lines.append(line)
        return Fed(lines, dropped)

    def reset(self) -> None:
        """Forget a partial line (after a reconnect)."""
        self._buffer.clear()
        self._discarding = False
