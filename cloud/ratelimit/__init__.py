"""Rate limits (fixed windows): in-process, or shared by every worker in Redis (INCR + EXPIRE)."""

from __future__ import annotations

from cloud.ratelimit.limiter import Limiter, MemoryLimiter, RedisLimiter
from cloud.ratelimit.model import Decision, Rule

__all__ = ["Decision", "Limiter", "MemoryLimiter", "RedisLimiter", "Rule"]
