"""Wakes a store's stream tasks in this process when its data changed (after commit)."""

from __future__ import annotations

import asyncio
from collections import defaultdict


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
    """In-process fan-out of "store X changed"; other workers' changes arrive by the stream's poll."""

    def __init__(self) -> None:
        self._subs: defaultdict[str, set[FeedSubscription]] = defaultdict(set)

    def subscribe(self, store_id: str) -> FeedSubscription:
        """A subscription woken on every change of store_id."""
        sub = FeedSubscription(self, store_id)
        self._subs[store_id].add(sub)
        return sub

    def unsubscribe(self, sub: FeedSubscription) -> None:
        """Forget a subscription."""
        subs = self._subs.get(sub.store_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.store_id]

    def changed(self, store_id: str) -> None:
        """Wake every subscription of store_id (call after the change committed)."""
        for sub in self._subs.get(store_id, ()):
            sub.event.set()
