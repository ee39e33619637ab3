"""Change notices for the panel's live views: the store says "changed", each stream re-reads once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

# A burst of writes (a redemption: session, redemption, journal, device state) is read once.
DEBOUNCE_S = 0.05


class Listener:
    """One live view's subscription: waits for the next change (a burst counts once)."""

    def __init__(self, feed: ChangeFeed) -> None:
        self._feed = feed
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Something changed (called by the feed)."""
        self._event.set()

    async def wait(self, timeout: float, *, debounce_s: float = DEBOUNCE_S) -> bool:  # noqa: ASYNC109
        """True once something changed (after the burst settles); False after timeout or when closed."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        if self._feed.closed:
            return False
        await asyncio.sleep(debounce_s)
        self._event.clear()
        return True


class ChangeFeed:
    """Fans one "changed" notice out to every live view; `close()` ends them all (shutdown)."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self.closed = False
        self.notices = 0

    def notify(self) -> None:
        """Tell every listener that state may have changed."""
        self.notices += 1
        for listener in list(self._listeners):
            listener.wake()

    @contextmanager
    def listen(self) -> Iterator[Listener]:
        """A listener for the duration of a live view."""
        listener = Listener(self)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def close(self) -> None:
        """End every live view (they return at once) and refuse to wait from now on."""
        self.closed = True
        self.notify()

    @property
    def listeners(self) -> int:
        """How many live views are open."""
        return len(self._listeners)
