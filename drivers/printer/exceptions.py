"""Errors of printer drivers; `code` is stable and names the failure for faults and logs."""

from __future__ import annotations


class PrinterError(Exception):
    """Base error of every printer driver."""

    code = "printer_error"


class PrinterOffline(PrinterError):
    """The printer cannot be reached, or reports itself offline with no other cause."""

    code = "offline"


class PrinterTimeout(PrinterError):
    """The printer did not answer a status query in time."""

    code = "timeout"


class PrinterStatusError(PrinterError):
    """A status reply that is truncated or not a DLE EOT status byte."""

    code = "bad_status"


class PrinterPaperOut(PrinterError):
    """The paper roll is empty."""

    code = "paper_out"


class PrinterCoverOpen(PrinterError):
    """The printer's cover is open."""

    code = "cover_open"


class PrinterFault(PrinterError):
    """The printer reports an error: autocutter, mechanical, unrecoverable or auto-recoverable."""

    code = "error"
