"""Heartbeats every MQTT and BLE device sends: the value type and the callback shape drivers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Unix seconds now; drivers take one (default time.time) so tests and the edge can inject theirs.
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A device's heartbeat: its own timestamp, its battery (None: mains) and when it arrived."""

    at: float
    battery: int | None
    received_at: float


HeartbeatCallback = Callable[[Heartbeat], None]

BATTERY_RANGE = range(101)
