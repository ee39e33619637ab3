"""Callbacks told that something changed (a moved clock, a committed write), each with its own unsubscribe."""

from __future__ import annotations

from collections.abc import Callable


class Listeners:
    """A set of no-argument callbacks, called in subscription order after each change."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after every change; returns the unsubscribe."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def notify(self) -> None:
        """Call every callback (one may unsubscribe itself while called)."""
        for callback in list(self._callbacks):
            callback()
