"""The Printer interface every printer driver implements."""

from __future__ import annotations

from typing import Protocol

from .codec import PrinterStatus, PrintJob, PrintReceipt


class Printer(Protocol):
    """A receipt or kitchen printer: a job is printed and checked, or a PrinterError says why not."""

    device_id: str

    async def status(self) -> PrinterStatus:
        """The printer's status; raises the PrinterError of a fault state."""
        ...

    async def print(self, job: PrintJob) -> PrintReceipt:
        """Print the job; returns the receipt (with the status after it) or raises a PrinterError."""
        ...
