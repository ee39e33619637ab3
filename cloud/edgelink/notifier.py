"""Wakes a store's stream tasks when its data changed (after commit), in every worker through the bus."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from cloud.bus.base import Bus, Unsubscribe


def changed_channel(store_id: str) -> str:
    """The bus channel that says "store_id's data changed"."""
    return f"gh:store:{store_id}:changed"


class FeedSubscription:
    """One stream's wake-up flag for one store."""

    def __init__(self, notifier: FeedNotifier, store_id: str) -> None:
        self.store_id = store_id
        self.event = asyncio.Event()
        self._notifier = notifier

    async def wait(self, within: float) -> bool:
        """Wait until woken or `within` seconds passed; True when woken. Clears the flag either way."""
        try:
            async with asyncio.timeout(within):
                await self.event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self.event.clear()

    def close(self) -> None:
        """Stop receiving wake-ups."""
        self._notifier.unsubscribe(self)


class FeedNotifier:
    """Fan-out of "store X changed": this process's streams at once, other workers' through the bus.

    Without a bus only this process hears; other workers' changes then arrive by the stream's poll,
    which stays the safety net with a bus too (a message lost while Redis is down).
    """

    def __init__(self, bus: Bus | None = None) -> None:
        self._subs: defaultdict[str, set[FeedSubscription]] = defaultdict(set)
        self._bus = bus
        self._bus_subs: dict[str, Unsubscribe] = {}

    def subscribe(self, store_id: str) -> FeedSubscription:
        """A subscription woken on every change of store_id (in any worker)."""
        sub = FeedSubscription(self, store_id)
        first = store_id not in self._subs
        self._subs[store_id].add(sub)
        if first and self._bus is not None:
            self._bus_subs[store_id] = self._bus.subscribe(
                changed_channel(store_id), lambda data: self._heard(store_id, data)
            )
        return sub

    def unsubscribe(self, sub: FeedSubscription) -> None:
        """Forget a subscription."""
        subs = self._subs.get(sub.store_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.store_id]
                cancel = self._bus_subs.pop(sub.store_id, None)
                if cancel is not None:
                    cancel()

    def changed(self, store_id: str) -> None:
        """Wake every subscription of store_id here and tell the other workers (call after commit)."""
        self.wake(store_id)
        if self._bus is not None:
            self._bus.publish(changed_channel(store_id), self._bus.worker_id.encode())

    def wake(self, store_id: str) -> None:
        """Wake this process's subscriptions of store_id."""
        for sub in self._subs.get(store_id, ()):
            sub.event.set()

    def _heard(self, store_id: str, sender: bytes) -> None:
        # Our own message comes back too: this process's streams were woken when it was sent.
        if self._bus is None or sender != self._bus.worker_id.encode():
            self.wake(store_id)
