"""Counters of the rate limit windows: in this process, or in Redis for every worker."""

from __future__ import annotations

import logging
from typing import Protocol

from prometheus_client import Counter
from redis.asyncio import Redis

from cloud.bus.redis_bus import DOWN_ERRORS
from cloud.clock import Clock
from cloud.ratelimit.model import Decision, Rule, bucket_key, decide, window_at

logger = logging.getLogger(__name__)

LIMITED = Counter("gatehouse_rate_limited_total", "Requests refused by a rate limit", ["rule"])
FALLBACKS = Counter(
    "gatehouse_rate_limit_fallback_total", "Rate limit checks counted in-process because Redis was down"
)


class Limiter(Protocol):
    """Counts hits of an identity under a rule and decides."""

    async def hit(self, rule: Rule, identity: str) -> Decision:
        """Count one hit now; the decision."""
        ...


class MemoryLimiter:
    """Fixed windows counted in this process (a single worker, or the fallback while Redis is down)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._index: dict[str, int] = {}  # key -> window index, to drop finished windows

    async def hit(self, rule: Rule, identity: str) -> Decision:
        """Count one hit in the current window."""
        return self.hit_now(rule, identity)

    def hit_now(self, rule: Rule, identity: str) -> Decision:
        """Count one hit in the current window (synchronously)."""
        now = self._clock.now().timestamp()
        window = window_at(rule, now)
        if not rule.enabled:
            return decide(rule, 0, window, now)
        self._prune(rule.name, window.index)
        key = bucket_key(rule, identity, window)
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        self._index[key] = window.index
        return _counted(rule, decide(rule, count, window, now))

    def _prune(self, name: str, current: int) -> None:
        if len(self._counts) < 4096:
            return
        prefix = f"gh:rl:{name}:"
        for key in [k for k, i in self._index.items() if i < current and k.startswith(prefix)]:
            self._counts.pop(key, None)
            self._index.pop(key, None)


class RedisLimiter:
    """Fixed windows counted in Redis (INCR, EXPIRE on the first hit): one limit across all workers."""

    def __init__(self, client: Redis, clock: Clock, fallback: MemoryLimiter | None = None) -> None:
        self._client = client
        self._clock = clock
        self._fallback = fallback if fallback is not None else MemoryLimiter(clock)
        self._down = False

    async def hit(self, rule: Rule, identity: str) -> Decision:
        """Count one hit in Redis; in this process while Redis is down."""
        now = self._clock.now().timestamp()
        window = window_at(rule, now)
        if not rule.enabled:
            return decide(rule, 0, window, now)
        key = bucket_key(rule, identity, window)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                # The window is in the key (from our clock); the TTL only reclaims the memory.
                pipe.incr(key)
                pipe.expire(key, rule.window_s * 2, nx=True)
                count, _ = await pipe.execute()
        except DOWN_ERRORS as err:
            FALLBACKS.inc()
            if not self._down:
                logger.warning("rate limits counted in-process: redis is down", extra={"error": str(err)})
                self._down = True
            return self._fallback.hit_now(rule, identity)
        if self._down:
            logger.info("rate limits counted in redis again")
            self._down = False
        return _counted(rule, decide(rule, int(count), window, now))


def _counted(rule: Rule, decision: Decision) -> Decision:
    if not decision.allowed:
        LIMITED.labels(rule.name).inc()
    return decision
