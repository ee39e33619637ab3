"""Fixed-window rate limit rules (pure): which window a moment falls in, and what a count means."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """At most `limit` hits per `window_s` seconds for one identity (limit 0: no limit)."""

    name: str
    limit: int
    window_s: int

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window_s <= 0:
            raise ValueError(f"rate limit {self.name}: limit >= 0 and window_s > 0 required")

    @property
    def enabled(self) -> bool:
        """Whether the rule limits anything."""
        return self.limit > 0


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a rule: its number (since the epoch) and when it ends (epoch seconds)."""

    index: int
    ends_at: float


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one hit: allowed or not, the count so far, and when to come back."""

    allowed: bool
    count: int
    retry_after_s: int


def window_at(rule: Rule, now_ts: float) -> Window:
    """The window of rule that contains the moment now_ts (epoch seconds)."""
    index = math.floor(now_ts / rule.window_s)
    return Window(index, (index + 1) * rule.window_s)


def decide(rule: Rule, count: int, window: Window, now_ts: float) -> Decision:
    """The decision for the count-th hit in window (Retry-After: whole seconds to the window's end, >= 1)."""
    allowed = not rule.enabled or count <= rule.limit
    retry = 0 if allowed else max(1, math.ceil(window.ends_at - now_ts))
    return Decision(allowed, count, retry)


def bucket_key(rule: Rule, identity: str, window: Window) -> str:
    """The counter's key: rule, a digest of the identity (no phone numbers in Redis) and the window."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
    return f"gh:rl:{rule.name}:{digest}:{window.index}"


def phone_identity(phone: str) -> str | None:
    """A phone number's digits (the identity of the per-phone rules); None when it has too few."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits if len(digits) >= 4 else None
