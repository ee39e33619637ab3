"""The in-process bus: every LocalBus of one LocalHub hears the others (the single-process cloud)."""

from __future__ import annotations

import uuid

from cloud.bus.base import Handler, HandlerTable, Unsubscribe


class LocalHub:
    """What the buses of one process share (one hub per process, or per simulated cluster in tests)."""

    def __init__(self) -> None:
        self.buses: list[LocalBus] = []


class LocalBus:
    """A Bus whose messages reach the LocalBuses of its hub, in this event loop."""

    def __init__(self, hub: LocalHub | None = None, worker_id: str | None = None) -> None:
        self._hub = hub if hub is not None else LocalHub()
        self._worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self._handlers = HandlerTable()
        self._hub.buses.append(self)

    @property
    def worker_id(self) -> str:
        """This worker's id."""
        return self._worker_id

    @property
    def available(self) -> bool:
        """Always: nothing can fail in between."""
        return True

    def subscribe(self, channel: str, handler: Handler) -> Unsubscribe:
        """Call handler with every message on channel."""
        self._handlers.add(channel, handler)
        return lambda: self._remove(channel, handler)

    def _remove(self, channel: str, handler: Handler) -> None:
        self._handlers.remove(channel, handler)

    def publish(self, channel: str, data: bytes) -> None:
        """Hand data to every handler of channel on the hub (synchronously)."""
        self._fan_out(channel, data)

    async def deliver(self, channel: str, data: bytes) -> int:
        """Hand data to every handler of channel; how many workers listen (as Redis counts)."""
        return self._fan_out(channel, data)

    def _fan_out(self, channel: str, data: bytes) -> int:
        count = 0
        for bus in list(self._hub.buses):
            count += 1 if channel in bus._handlers else 0
            bus._handlers.dispatch(channel, data)
        return count

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Leave the hub."""
        if self in self._hub.buses:
            self._hub.buses.remove(self)
