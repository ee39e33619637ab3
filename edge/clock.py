"""The edge's notion of time: a Clock protocol, the wall clock, and a settable clock for tests."""

from __future__ import annotations

import time
from typing import Protocol


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
    """A clock that only moves when told to: `set(t)` or `advance(seconds)`."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The time last set."""
        return self._now

    def set(self, when: float) -> None:
        """Jump to `when` (unix seconds)."""
        self._now = float(when)

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds`."""
        self._now += seconds


def now_ms(clock: Clock) -> int:
    """The clock's time in unix milliseconds."""
    return int(clock.now() * 1000)
