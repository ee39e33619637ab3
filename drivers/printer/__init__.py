"""Receipt and kitchen printers: ESC/POS over raw TCP, jobs as data, DLE EOT status as faults."""

from __future__ import annotations

from .client import Printer
from .codec import Block, Cut, Feed, Line, PrinterStatus, PrintJob, PrintReceipt, QrCode, render
from .const import DEFAULT_PORT, DEFAULT_PROFILE, PROFILES, Align, PrinterProfile
from .exceptions import (
    PrinterCoverOpen,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterPaperOut,
    PrinterStatusError,
    PrinterTimeout,
)
from .transport_tcp import EscposPrinter

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_PROFILE",
    "PROFILES",
    "Align",
    "Block",
    "Cut",
    "EscposPrinter",
    "Feed",
    "Line",
    "PrintJob",
    "PrintReceipt",
    "Printer",
    "PrinterCoverOpen",
    "PrinterError",
    "PrinterFault",
    "PrinterOffline",
    "PrinterPaperOut",
    "PrinterProfile",
    "PrinterStatus",
    "PrinterStatusError",
    "PrinterTimeout",
    "QrCode",
    "render",
]
