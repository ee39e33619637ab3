"""Device availability (pure): a device is offline only after several missed heartbeats or polls.

Gaps are measured on a monotonic clock, so a wall-clock step never marks every device offline.
Battery devices sleep between heartbeats and are given more slack than mains devices; the
thresholds are data (`LIVENESS`), overridable per device with the `heartbeat_s` config key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class PowerSource(StrEnum):
    """How a device is powered (a heartbeat's battery field: null means mains)."""

    MAINS = "mains"
    BATTERY = "battery"


class Evidence(StrEnum):
    """What proves a device alive."""

    HEARTBEAT = "heartbeat"  # MQTT heartbeats (and any state message)
    POLL = "poll"  # a successful poll or command read-back (Modbus)
    CONNECTION = "connection"  # an open TCP connection (line scanners)


@dataclass(frozen=True, slots=True)
class Liveness:
    """Expected interval between signs of life, and how many may be missed before "offline"."""

    interval_s: float
    misses: int

    @property
    def limit_s(self) -> float:
        """Silence longer than this means offline."""
        return self.interval_s * self.misses


LIVENESS: Mapping[PowerSource, Liveness] = {
    PowerSource.MAINS: Liveness(interval_s=30.0, misses=3),
    PowerSource.BATTERY: Liveness(interval_s=60.0, misses=5),
}

# Until a device tells (its first heartbeat), kinds that usually run on batteries get their slack.
DEFAULT_SOURCE: Mapping[str, PowerSource] = {
    "lock": PowerSource.BATTERY,
    "sensor": PowerSource.BATTERY,
}

EVIDENCE: Mapping[tuple[str, str], Evidence] = {
    ("power", "modbus"): Evidence.POLL,
    ("scanner", "tcp"): Evidence.CONNECTION,
    ("gate", "modbus"): Evidence.POLL,
    ("printer", "escpos"): Evidence.POLL,
}

LOW_BATTERY_PCT = 20


def evidence_of(kind: str, protocol: str) -> Evidence:
    """How a device of this kind and protocol shows it is alive (MQTT devices: heartbeats)."""
    return EVIDENCE.get((kind, protocol), Evidence.HEARTBEAT)


class Availability(StrEnum):
    """A device's availability."""

    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Health:
    """What is known of a device's life: when it was last heard from (monotonic s), its battery."""

    kind: str
    since: float  # when watching began (a device never heard from is offline after the limit)
    last_seen: float | None = None
    battery: int | None = None
    source: PowerSource | None = None
    interval_s: float | None = None  # the device's own heartbeat interval (config), if set

    def liveness(self) -> Liveness:
        """The thresholds that apply to this device."""
        source = self.source or DEFAULT_SOURCE.get(self.kind, PowerSource.MAINS)
        base = LIVENESS[source]
        if self.interval_s is not None and self.interval_s > 0:
            return Liveness(self.interval_s, base.misses)
        return base


def seen(health: Health, at: float, battery: int | None = None, *, from_heartbeat: bool = False) -> Health:
    """Health after a sign of life; a heartbeat also tells the power source and battery."""
    if not from_heartbeat:
        return Health(health.kind, health.since, at, health.battery, health.source, health.interval_s)
    source = PowerSource.MAINS if battery is None else PowerSource.BATTERY
    return Health(health.kind, health.since, at, battery, source, health.interval_s)


def evaluate(health: Health, now: float) -> Availability:
    """Online while heard from within the limit; offline after it (or never heard from past it)."""
    limit = health.liveness().limit_s
    if health.last_seen is None:
        return Availability.OFFLINE if now - health.since > limit else Availability.UNKNOWN
    return Availability.ONLINE if now - health.last_seen <= limit else Availability.OFFLINE


def battery_low(health: Health) -> bool:
    """True when a battery device reports a battery at or below the threshold."""
    return health.battery is not None and health.battery <= LOW_BATTERY_PCT
