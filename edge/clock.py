"""The edge's notion of time: a Clock protocol, the wall clock, and a settable clock for tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from edge.listeners import Listeners


class Clock(Protocol):
    """Something that tells the current unix time in seconds."""

    def now(self) -> float:
        """Unix seconds now."""
        ...


class SystemClock:
    """The wall clock: the only place the edge reads the system time."""

    def now(self) -> float:
        """Unix seconds now."""
        return time.time()


class FakeClock:
    """A clock that only moves when told to: `set(t)` or `advance(seconds)`; subscribers hear of each move.

    The session timer loop subscribes, so advancing the clock wakes it: tests drive timers
    deterministically, without sleeping.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)
        self._listeners = Listeners()

    def now(self) -> float:
        """The time last set."""
        return self._now

    def set(self, when: float) -> None:
        """Jump to `when` (unix seconds)."""
        self._now = float(when)
        self._notify()

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds`."""
        self._now += seconds
        self._notify()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after every move; returns the unsubscribe."""
        return self._listeners.subscribe(callback)

    def _notify(self) -> None:
        self._listeners.notify()


def now_ms(clock: Clock) -> int:
    """The clock's time in unix milliseconds."""
    return int(clock.now() * 1000)
