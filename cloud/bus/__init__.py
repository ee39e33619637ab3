"""Cross-worker fan-out: one interface, an in-process hub (one process) and Redis pub/sub (many)."""

from __future__ import annotations

from cloud.bus.base import Bus, BusUnavailable, Handler
from cloud.bus.local import LocalBus, LocalHub
from cloud.bus.redis_bus import RedisBus, redis_client

__all__ = ["Bus", "BusUnavailable", "Handler", "LocalBus", "LocalHub", "RedisBus", "redis_client"]
