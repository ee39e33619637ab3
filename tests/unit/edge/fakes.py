"""In-memory twins of the edge's seams for unit tests."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from edge.actuators import Announcement, DeviceFailure, DoorResult, NoSuchDevice


@dataclass
class RecordingActuators:
    """StoreActuators that record every call; rooms listed in `broken_*` fail."""

    locks: dict[str, str] = field(default_factory=dict)
    switches: dict[str, str] = field(default_factory=dict)
    printers: dict[str, str] = field(default_factory=dict)
    gates: dict[str, str] = field(default_factory=dict)  # scanner id -> gate id
    broken_locks: set[str] = field(default_factory=set)
    jammed_locks: set[str] = field(default_factory=set)
    broken_switches: set[str] = field(default_factory=set)
    unlocked: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    powered: list[tuple[str, bool]] = field(default_factory=list)
    flashed: list[str] = field(default_factory=list)
    gates_opened: list[str] = field(default_factory=list)
    announced: list[tuple[str, Announcement]] = field(default_factory=list)
    printed: list[tuple[str, str]] = field(default_factory=list)

    def _lock(self, room_id: str) -> str | None:
        lock = self.locks.get(room_id)
        if lock is not None and room_id in self.jammed_locks:
            raise DeviceFailure(lock, "jammed", "bolt jammed", kind="lock")
        if lock is not None and room_id in self.broken_locks:
            raise DeviceFailure(lock, "timeout", "no answer in 5s", kind="lock")
        return lock

    async def unlock_room(self, room_id: str) -> str | None:
        lock = self._lock(room_id)
        if lock is not None:
            self.unlocked.append(room_id)
        return lock

    async def lock_room(self, room_id: str) -> str | None:
        lock = self._lock(room_id)
        if lock is not None:
            self.locked.append(room_id)
        return lock

    async def power_room(self, room_id: str, on: bool) -> str | None:
        switch = self.switches.get(room_id)
        if switch is None:
            return None
        if room_id in self.broken_switches:
            raise DeviceFailure(switch, "offline", "cannot connect", kind="power")
        self.powered.append((room_id, on))
        return switch

    async def open_gate(self, scanner_id: str | None) -> str | None:
        gate = self.gates.get(scanner_id or "")
        if gate is not None:
            self.gates_opened.append(gate)
        return gate

    async def flash_room(self, room_id: str) -> str | None:
        switch = self.switches.get(room_id)
        if switch is None:
            return None
        if room_id in self.broken_switches:
            raise DeviceFailure(switch, "offline", "cannot connect", kind="power")
        self.flashed.append(room_id)
        return switch

    async def announce(self, room_id: str, announcement: Announcement) -> str:
        self.announced.append((room_id, announcement))
        return room_id

    async def unlock_all(self, only: Collection[str] | None = None) -> list[DoorResult]:
        results = []
        for room_id, lock in sorted(self.locks.items()):
            if only is not None and lock not in only:
                continue
            try:
                self._lock(room_id)
            except DeviceFailure as err:
                results.append(DoorResult(lock, room_id, err))
                continue
            self.unlocked.append(room_id)
            results.append(DoorResult(lock, room_id))
        return results

    async def print_text(
        self, text: str, *, printer_id: str | None = None, room_id: str | None = None
    ) -> str:
        target = printer_id or (self.printers.get(room_id) if room_id else None) or self.printers.get("")
        if target is None:
            raise NoSuchDevice("no_printer", "no printer")
        self.printed.append((target, text))
        return target
