"""Pure values <-> bytes for ESC/POS: the print job model rendered to bytes, DLE EOT replies decoded."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .const import (
    BIT_AUTO_RECOVERABLE_ERROR,
    BIT_COVER_OPEN,
    BIT_CUTTER_ERROR,
    BIT_ERROR,
    BIT_MECHANICAL_ERROR,
    BIT_OFFLINE,
    BIT_PAPER_END_STOP,
    BIT_UNRECOVERABLE_ERROR,
    BITS_PAPER_END,
    BITS_PAPER_NEAR_END,
    CUT_FEED_LINES,
    CUT_FULL,
    CUT_PARTIAL,
    DLE,
    EOT,
    ESC,
    GS,
    INIT,
    LF,
    MAX_FEED_LINES,
    QR_CN,
    QR_ERROR_M,
    QR_FN_ERROR_LEVEL,
    QR_FN_MODEL,
    QR_FN_PRINT,
    QR_FN_SIZE,
    QR_FN_STORE,
    QR_MAX_DATA,
    QR_MODEL_2,
    QR_SIZES,
    QR_STORE_M,
    SIZE_DOUBLE,
    SIZE_NORMAL,
    STATUS_FIXED_MASK,
    STATUS_FIXED_VALUE,
    STATUS_QUERIES,
    WARNING_PAPER_NEAR_END,
    Align,
    PrinterProfile,
    StatusQuery,
)
from .exceptions import (
    PrinterCoverOpen,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterPaperOut,
    PrinterStatusError,
)


def _check_text(text: str, what: str) -> None:
    # Control characters would let a customer's name inject printer commands.
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
        raise ValueError(f"{what} holds control characters: {text!r:.40}")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of text."""

    text: str
    bold: bool = False
    align: Align = Align.LEFT
    double: bool = False

    def __post_init__(self) -> None:
        _check_text(self.text, "line")


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR code (model 2, error correction M); `size` is the module size in dots."""

    data: str
    size: int = 6

    def __post_init__(self) -> None:
        _check_text(self.data, "QR data")
        if not self.data or len(self.data.encode()) > QR_MAX_DATA:
            raise ValueError(f"QR data must be 1..{QR_MAX_DATA} bytes")
        if self.size not in QR_SIZES:
            raise ValueError(f"QR module size {self.size} out of 1..16")


@dataclass(frozen=True, slots=True)
class Feed:
    """Blank lines."""

    lines: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.lines <= MAX_FEED_LINES:
            raise ValueError(f"feed of {self.lines} lines out of 1..{MAX_FEED_LINES}")


@dataclass(frozen=True, slots=True)
class Cut:
    """Cut the paper (partial leaves a hinge)."""

    partial: bool = True


Block = Line | QrCode | Feed | Cut


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A receipt or kitchen ticket: blocks printed in order; `job_id` names it in logs and receipts."""

    blocks: tuple[Block, ...]
    job_id: str = ""

    def __post_init__(self) -> None:
        if not self.blocks:
            raise ValueError("a print job needs at least one block")


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the four DLE EOT replies say; `at` is when they were read (the driver's clock)."""

    online: bool
    cover_open: bool
    paper_out: bool
    paper_near_end: bool
    error: bool
    cutter_error: bool = False
    mechanical_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    at: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class PrintReceipt:
    """A printed job: bytes sent, the status read after it, warnings such as "paper_near_end"."""

    job_id: str
    bytes_sent: int
    status: PrinterStatus
    warnings: tuple[str, ...]


# ---- rendering ----


def _fit(text: str, columns: int, encoding: str) -> bytes:
    """Encode `text`, cut to `columns` bytes without splitting a character (CJK is 2 columns, 2 bytes)."""
    out = bytearray()
    for ch in text:
        encoded = ch.encode(encoding, errors="replace")
        if len(out) + len(encoded) > columns:
            break
        out += encoded
    return bytes(out)


def _gs_k(fn: int, params: bytes) -> bytes:
    body = bytes([QR_CN, fn]) + params
    return bytes([GS, ord("("), ord("k")]) + struct.pack("<H", len(body)) + body


def _render_block(block: Block, profile: PrinterProfile) -> bytes:
    if isinstance(block, Line):
        columns = profile.columns // 2 if block.double else profile.columns
        return (
            bytes([ESC, ord("a"), block.align, ESC, ord("E"), int(block.bold)])
            + bytes([GS, ord("!"), SIZE_DOUBLE if block.double else SIZE_NORMAL])
            + _fit(block.text, columns, profile.encoding)
            + LF
            + bytes([ESC, ord("E"), 0, GS, ord("!"), SIZE_NORMAL, ESC, ord("a"), Align.LEFT])
        )
    if isinstance(block, QrCode):
        if not profile.qr:
            return _render_block(Line(block.data, align=Align.CENTER), profile)
        data = block.data.encode()
        return (
            bytes([ESC, ord("a"), Align.CENTER])
            + _gs_k(QR_FN_MODEL, bytes([QR_MODEL_2, 0]))
            + _gs_k(QR_FN_SIZE, bytes([block.size]))
            + _gs_k(QR_FN_ERROR_LEVEL, bytes([QR_ERROR_M]))
            + _gs_k(QR_FN_STORE, bytes([QR_STORE_M]) + data)
            + _gs_k(QR_FN_PRINT, bytes([QR_STORE_M]))
            + LF
            + bytes([ESC, ord("a"), Align.LEFT])
        )
    if isinstance(block, Feed):
        return bytes([ESC, ord("d"), block.lines])
    if not profile.cutter:
        return bytes([ESC, ord("d"), CUT_FEED_LINES])
    return bytes([GS, ord("V"), CUT_PARTIAL if block.partial else CUT_FULL, CUT_FEED_LINES])


def render(job: PrintJob, profile: PrinterProfile) -> bytes:
    """The job as ESC/POS bytes for a printer of this profile (starting with ESC @)."""
    return INIT + b"".join(_render_block(block, profile) for block in job.blocks)


# ---- status ----


def status_query(n: StatusQuery) -> bytes:
    """DLE EOT n."""
    return bytes([DLE, EOT, n])


def check_status_byte(n: StatusQuery, value: int) -> int:
    """Refuse a byte that is not a DLE EOT reply (its fixed bits are wrong)."""
    if value & STATUS_FIXED_MASK != STATUS_FIXED_VALUE:
        raise PrinterStatusError(f"DLE EOT {int(n)} answered 0x{value:02x}: not a status byte")
    return value


def decode_status(replies: bytes, *, at: float) -> PrinterStatus:
    """Decode the replies to DLE EOT 1, 2, 3 and 4, in that order, one byte each."""
    if len(replies) != len(STATUS_QUERIES):
        raise PrinterStatusError(f"{len(replies)} status bytes, expected {len(STATUS_QUERIES)}")
    printer, offline, error, paper = (
        check_status_byte(n, value) for n, value in zip(STATUS_QUERIES, replies, strict=True)
    )
    return PrinterStatus(
        online=not printer & BIT_OFFLINE,
        cover_open=bool(offline & BIT_COVER_OPEN),
        paper_out=bool(offline & BIT_PAPER_END_STOP or paper & BITS_PAPER_END),
        paper_near_end=bool(paper & BITS_PAPER_NEAR_END),
        error=bool(offline & BIT_ERROR),
        cutter_error=bool(error & BIT_CUTTER_ERROR),
        mechanical_error=bool(error & BIT_MECHANICAL_ERROR),
        unrecoverable_error=bool(error & BIT_UNRECOVERABLE_ERROR),
        auto_recoverable_error=bool(error & BIT_AUTO_RECOVERABLE_ERROR),
        at=at,
    )


def status_fault(status: PrinterStatus) -> PrinterError | None:
    """The error a status means (cover, paper, error, offline, in that order), or None when ready."""
    if status.cover_open:
        return PrinterCoverOpen("the printer's cover is open")
    if status.paper_out:
        return PrinterPaperOut("the printer is out of paper")
    errors = [
        name
        for name, flag in (
            ("autocutter", status.cutter_error),
            ("mechanical", status.mechanical_error),
            ("unrecoverable", status.unrecoverable_error),
            ("auto-recoverable", status.auto_recoverable_error),
        )
        if flag
    ]
    if status.error or errors:
        return PrinterFault(f"the printer reports an error ({', '.join(errors) or 'unspecified'})")
    if not status.online:
        return PrinterOffline("the printer reports itself offline")
    return None


def status_warnings(status: PrinterStatus) -> tuple[str, ...]:
    """Conditions worth a minor fault that do not stop printing."""
    return (WARNING_PAPER_NEAR_END,) if status.paper_near_end else ()
