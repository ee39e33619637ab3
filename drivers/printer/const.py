"""Wire constants of ESC/POS printers: command bytes, the DLE EOT status bits, printer profiles."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

DEFAULT_PORT: Final = 9100

ESC: Final = 0x1B
GS: Final = 0x1D
DLE: Final = 0x10
EOT: Final = 0x04
LF: Final = b"\n"

INIT: Final = bytes([ESC, ord("@")])  # ESC @: initialise (styles back to defaults)


class Align(IntEnum):
    """ESC a n: justification."""

    LEFT = 0
    CENTER = 1
    RIGHT = 2


# GS ! n: character size (high nibble width - 1, low nibble height - 1).
SIZE_NORMAL: Final = 0x00
SIZE_DOUBLE: Final = 0x11
# GS V m n: cut after feeding n lines; 65 full cut, 66 partial cut.
CUT_FULL: Final = 65
CUT_PARTIAL: Final = 66
CUT_FEED_LINES: Final = 3
MAX_FEED_LINES: Final = 255

# GS ( k, cn 49 (QR code): function numbers and their fixed parameters.
QR_CN: Final = 0x31
QR_FN_MODEL: Final = 0x41  # fn 65: n1 = 50 (model 2), n2 = 0
QR_MODEL_2: Final = 0x32
QR_FN_SIZE: Final = 0x43  # fn 67: module size 1-16
QR_FN_ERROR_LEVEL: Final = 0x45  # fn 69: 48 L, 49 M, 50 Q, 51 H
QR_ERROR_M: Final = 0x31
QR_FN_STORE: Final = 0x50  # fn 80: m = 48, then the data
QR_STORE_M: Final = 0x30
QR_FN_PRINT: Final = 0x51  # fn 81: m = 48
QR_MAX_DATA: Final = 7089
QR_SIZES: Final = range(1, 17)


class StatusQuery(IntEnum):
    """DLE EOT n: the real-time status the printer sends back as one byte."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER = 4


STATUS_QUERIES: Final = tuple(StatusQuery)

# Every DLE EOT reply has bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0.
STATUS_FIXED_MASK: Final = 0b1001_0011
STATUS_FIXED_VALUE: Final = 0b0001_0010

# n = 1, printer status
BIT_OFFLINE: Final = 0x08
# n = 2, offline cause
BIT_COVER_OPEN: Final = 0x04
BIT_PAPER_END_STOP: Final = 0x20
BIT_ERROR: Final = 0x40
# n = 3, error cause
BIT_MECHANICAL_ERROR: Final = 0x04
BIT_CUTTER_ERROR: Final = 0x08
BIT_UNRECOVERABLE_ERROR: Final = 0x20
BIT_AUTO_RECOVERABLE_ERROR: Final = 0x40
# n = 4, roll paper sensor (each condition sets a pair of bits)
BITS_PAPER_NEAR_END: Final = 0x0C
BITS_PAPER_END: Final = 0x60

WARNING_PAPER_NEAR_END: Final = "paper_near_end"


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    """What a printer model can do: line width in characters, text encoding, QR codes, a cutter."""

    name: str
    columns: int
    encoding: str
    qr: bool
    cutter: bool


PROFILES: Final[dict[str, PrinterProfile]] = {
    "receipt-80mm": PrinterProfile("receipt-80mm", columns=48, encoding="gb18030", qr=True, cutter=True),
    "kitchen-58mm": PrinterProfile("kitchen-58mm", columns=32, encoding="gb18030", qr=False, cutter=False),
}
DEFAULT_PROFILE: Final = PROFILES["receipt-80mm"]

DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_TRIES: Final = 3
DEFAULT_BACKOFF_S: Final = 0.2
