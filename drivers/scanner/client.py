"""The scanner interface: a source that calls an async handler once per scanned code."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from .codec import Scan

logger = logging.getLogger(__name__)

ScanHandler = Callable[[Scan], Awaitable[None]]


class ScannerSource(Protocol):
    """A scanner driver: `start()` begins delivering scans to its handler, `stop()` ends it."""

    device_id: str

    async def start(self) -> None:
        """Begin delivering scans."""
        ...

    async def stop(self) -> None:
        """Stop delivering scans and release the connection."""
        ...


async def deliver(handler: ScanHandler, scan: Scan) -> None:
    """Run the handler; its failure is logged and never ends the scanner's loop."""
    try:
        await handler(scan)
    except Exception:
        logger.exception("scan handler failed", extra={"device_id": scan.device_id})
