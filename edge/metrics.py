"""Prometheus metrics of one edge daemon, in a registry of its own (several edges may share a process).

Counters are bumped where things happen (redemptions, device commands, panel sign-ins); gauges
of state (outbox depth, link, devices, rooms) are read from memory and the local SQLite cache
when scraped, never from the network.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from edge.actuators import Announcement, DeviceFailure, DoorResult, NoSuchDevice, StoreActuators
from edge.clock import Clock
from edge.redemption import RedemptionResult
from edge.sessions.model import RoomState, effective_state
from edge.store import EdgeStore

__all__ = ["CONTENT_TYPE_LATEST", "EdgeMetrics", "MeteredActuators"]

T = TypeVar("T")

LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
ROOM_STATES = tuple(s.value for s in RoomState)
AVAILABILITIES = ("online", "offline", "unknown")


class EdgeMetrics:
    """The metrics of one edge: its own CollectorRegistry, counters bumped by the daemon's parts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.redemptions = Counter(
            "gatehouse_edge_redemptions_total",
            "Redemption attempts by outcome, reason code and method",
            ["outcome", "reason", "method"],
            registry=r,
        )
        self.scan_to_unlock = Histogram(
            "gatehouse_edge_scan_to_unlock_seconds",
            "From a scanned code reaching the edge to its door unlocked and the redemption recorded",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.device_commands = Counter(
            "gatehouse_edge_device_commands_total",
            "Commands to devices by kind and result (ok, none, or the driver's failure code)",
            ["kind", "result"],
            registry=r,
        )
        self.panel_sign_ins = Counter(
            "gatehouse_edge_panel_sign_ins_total", "Panel sign-ins by result", ["result"], registry=r
        )
        self.outbox_depth = Gauge(
            "gatehouse_edge_outbox_depth", "Events waiting for the cloud's acknowledgement", registry=r
        )
        self.link_connected = Gauge(
            "gatehouse_edge_link_connected", "1 while the link to the cloud is up", registry=r
        )
        self.devices = Gauge(
            "gatehouse_edge_devices", "Devices by availability", ["availability"], registry=r
        )
        self.rooms = Gauge("gatehouse_edge_rooms", "Rooms by session state", ["state"], registry=r)

    # ---- counted where it happens ----

    def observe_redemption(self, result: RedemptionResult, method: str) -> None:
        """Count one redemption attempt."""
        self.redemptions.labels(result.outcome.value, result.reason, method).inc()

    def timed_scan(self, handler: Callable[[str, str], Awaitable[T]]) -> Callable[[str, str], Awaitable[T]]:
        """Wrap the scan handler: a scan that redeems is counted and its time to unlock observed."""

        async def handle(text: str, device_id: str) -> T:
            started = time.perf_counter()
            result = await handler(text, device_id)
            if isinstance(result, RedemptionResult):
                self.observe_redemption(result, "scan")
                if result.ok:
                    self.scan_to_unlock.observe(time.perf_counter() - started)
            return result

        return handle

    def count_command(self, kind: str, result: str) -> None:
        """Count one device command."""
        self.device_commands.labels(kind, result).inc()

    def count_sign_in(self, result: str) -> None:
        """Count one panel sign-in attempt."""
        self.panel_sign_ins.labels(result).inc()

    # ---- read when scraped ----

    async def refresh(
        self,
        store: EdgeStore,
        clock: Clock,
        *,
        link_connected: bool,
        availability: Mapping[str, str],
    ) -> None:
        """Set the state gauges from memory and the local cache."""
        self.link_connected.set(1 if link_connected else 0)
        self.outbox_depth.set(await store.outbox_depth())
        counts = dict.fromkeys(AVAILABILITIES, 0)
        for device in await store.devices():
            state = availability.get(device.id, "unknown")
            counts[state if state in counts else "unknown"] += 1
        for state, count in counts.items():
            self.devices.labels(state).set(count)
        now = clock.now()
        sessions = await store.sessions()
        rooms = dict.fromkeys(ROOM_STATES, 0)
        for room in await store.rooms():
            rooms[effective_state(sessions.get(room.id), now).value] += 1
        for state, count in rooms.items():
            self.rooms.labels(state).set(count)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class MeteredActuators:
    """The store's devices as every service sees them, with each command counted by kind and result."""

    def __init__(self, inner: StoreActuators, metrics: EdgeMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def _count(self, kind: str, call: Awaitable[T]) -> T:
        try:
            result = await call
        except DeviceFailure as err:
            self._metrics.count_command(kind, err.code)
            raise
        except NoSuchDevice as err:
            self._metrics.count_command(kind, err.code)
            raise
        self._metrics.count_command(kind, "none" if result is None else "ok")
        return result

    async def unlock_room(self, room_id: str) -> str | None:
        """Unlock the room's lock."""
        return await self._count("unlock", self._inner.unlock_room(room_id))

    async def lock_room(self, room_id: str) -> str | None:
        """Lock the room's lock."""
        return await self._count("lock", self._inner.lock_room(room_id))

    async def power_room(self, room_id: str, on: bool) -> str | None:
        """Switch the room's power."""
        return await self._count("power_on" if on else "power_off", self._inner.power_room(room_id, on))

    async def flash_room(self, room_id: str) -> str | None:
        """Flash the room's lights."""
        return await self._count("flash", self._inner.flash_room(room_id))

    async def open_gate(self, scanner_id: str | None) -> str | None:
        """Release the entrance gate of a store-wide scanner."""
        return await self._count("open_gate", self._inner.open_gate(scanner_id))

    async def announce(self, room_id: str, announcement: Announcement) -> str:
        """Tell the room's speaker."""
        return await self._count("announce", self._inner.announce(room_id, announcement))

    async def print_text(
        self, text: str, *, printer_id: str | None = None, room_id: str | None = None
    ) -> str:
        """Print on a printer."""
        return await self._count(
            "print", self._inner.print_text(text, printer_id=printer_id, room_id=room_id)
        )

    async def unlock_all(self, only: Collection[str] | None = None) -> list[DoorResult]:
        """Unlock every door, or those of `only` (alarms); each door counts as one unlock."""
        doors = await self._inner.unlock_all(only)
        for door in doors:
            self._metrics.count_command("unlock", "ok" if door.failure is None else door.failure.code)
        return doors
