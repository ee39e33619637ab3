"""The link's reconnect policy (pure): exponential backoff with full jitter, reset after a good connection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Delays before reconnecting: uniform in [0, min(cap, base * 2**attempt)) ("full jitter")."""

    base_s: float = 0.5
    cap_s: float = 30.0
    reset_after_s: float = 10.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay for the `attempt`-th consecutive failure (0-based)."""
        return min(self.cap_s, self.base_s * 2.0 ** min(max(attempt, 0), 62))

    def delay(self, attempt: int, rand: float) -> float:
        """The delay for `attempt` given a uniform random number `rand` in [0, 1)."""
        return self.ceiling(attempt) * min(max(rand, 0.0), 1.0)

    def next_attempt(self, attempt: int, connected_for_s: float | None) -> int:
        """The attempt number after a connection ended (None: it never came up)."""
        if connected_for_s is not None and connected_for_s > self.reset_after_s:
            return 0
        return attempt + 1
