"""The lock interfaces every lock driver implements (the edge depends on these, not on a transport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..heartbeat import Heartbeat, HeartbeatCallback
from .codec import LockStatus


class Lock(Protocol):
    """A door lock: commands return the read-back status or raise a LockError."""

    device_id: str

    async def unlock(self) -> LockStatus:
        """Unlock; returns the acknowledged status (state UNLOCKED, or OPEN if the door stands open)."""
        ...

    async def lock(self) -> LockStatus:
        """Lock; returns the acknowledged status (state LOCKED)."""
        ...

    async def status(self) -> LockStatus:
        """Ask the lock for its current status."""
        ...


class MonitoredLock(Lock, Protocol):
    """A lock that also pushes its state and heartbeats (MqttLock, BleLock)."""

    last_status: LockStatus | None

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat, or None before the first."""
        ...

    def on_status(self, callback: Callable[[LockStatus], None]) -> Callable[[], None]:
        """Call `callback(status)` on every state report; returns the unsubscribe."""
        ...

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        ...
