"""The Lock interface every lock driver implements (the edge depends on this, not on a transport)."""

from __future__ import annotations

from typing import Protocol

from .codec import LockStatus


class Lock(Protocol):
    """A door lock: commands return the read-back status or raise a LockError."""

    device_id: str

    async def unlock(self) -> LockStatus:
        """Unlock; returns the acknowledged status (state UNLOCKED)."""
        ...

    async def lock(self) -> LockStatus:
        """Lock; returns the acknowledged status (state LOCKED)."""
        ...

    async def status(self) -> LockStatus:
        """Ask the lock for its current status."""
        ...
