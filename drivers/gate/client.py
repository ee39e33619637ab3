"""The Gate interface every gate driver implements."""

from __future__ import annotations

from typing import Protocol

from .codec import GateStatus


class Gate(Protocol):
    """An entrance gate or turnstile: `open()` releases it for one passage and returns the read-back."""

    device_id: str

    async def open(self) -> GateStatus:
        """Release the gate; returns the status read back (open) or raises a GateError."""
        ...

    async def status(self) -> GateStatus:
        """Read the gate's status (open, pass counter)."""
        ...
