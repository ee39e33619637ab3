"""The bus interface: channels of bytes, handlers called in the receiving worker's loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from prometheus_client import Counter, Gauge

logger = logging.getLogger(__name__)

Handler = Callable[[bytes], None]
Unsubscribe = Callable[[], None]

BUS_CONNECTED = Gauge("gatehouse_bus_connected", "1 while this worker's fan-out bus is connected")
BUS_RECONNECTS = Counter("gatehouse_bus_reconnects_total", "Times the fan-out bus lost its connection")
BUS_DROPPED = Counter(
    "gatehouse_bus_dropped_total", "Fan-out messages not published (bus down or backlog full)"
)


class BusUnavailable(Exception):
    """The bus cannot carry a message now (Redis down); callers fall back (poll, offline)."""


class Bus(Protocol):
    """Publish/subscribe between the cloud workers; a worker also receives its own messages."""

    @property
    def worker_id(self) -> str:
        """This worker's id (unique per process)."""
        ...

    @property
    def available(self) -> bool:
        """Whether messages can be carried now."""
        ...

    def subscribe(self, channel: str, handler: Handler) -> Unsubscribe:
        """Call handler with every message on channel from now on; the result cancels it."""
        ...

    def publish(self, channel: str, data: bytes) -> None:
        """Best effort, never blocks nor raises: a message lost while the bus is down is counted."""
        ...

    async def deliver(self, channel: str, data: bytes) -> int:
        """Publish now; how many subscribers (in every worker) got it. BusUnavailable when down."""
        ...

    async def start(self) -> None:
        """Begin carrying messages (connects in the background; never fails for a bus that is down)."""
        ...

    async def stop(self) -> None:
        """Stop and release connections."""
        ...


class HandlerTable:
    """Handlers by channel (shared by the bus implementations)."""

    def __init__(self) -> None:
        self._by_channel: dict[str, list[Handler]] = {}

    def add(self, channel: str, handler: Handler) -> bool:
        """Add a handler; True when the channel had none (subscribe it)."""
        handlers = self._by_channel.setdefault(channel, [])
        handlers.append(handler)
        return len(handlers) == 1

    def remove(self, channel: str, handler: Handler) -> bool:
        """Remove a handler; True when the channel has none left (unsubscribe it)."""
        handlers = self._by_channel.get(channel)
        if handlers is None or handler not in handlers:
            return False
        handlers.remove(handler)
        if handlers:
            return False
        del self._by_channel[channel]
        return True

    def channels(self) -> list[str]:
        """Every channel with a handler."""
        return list(self._by_channel)

    def __contains__(self, channel: object) -> bool:
        return channel in self._by_channel

    def count(self, channel: str) -> int:
        """How many handlers listen on channel."""
        return len(self._by_channel.get(channel, ()))

    def dispatch(self, channel: str, data: bytes) -> None:
        """Call every handler of channel; one failing handler does not stop the others."""
        for handler in list(self._by_channel.get(channel, ())):
            try:
                handler(data)
            except Exception:
                logger.exception("bus handler failed", extra={"channel": channel})
