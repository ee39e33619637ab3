"""In-memory twins of the edge's seams for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.actuators import DeviceFailure


@dataclass
class RecordingActuators:
    """RoomActuators that record every call; rooms listed in `broken_locks` fail to open."""

    locks: dict[str, str] = field(default_factory=dict)
    switches: dict[str, str] = field(default_factory=dict)
    broken_locks: set[str] = field(default_factory=set)
    broken_switches: set[str] = field(default_factory=set)
    unlocked: list[str] = field(default_factory=list)
    powered: list[tuple[str, bool]] = field(default_factory=list)

    async def unlock_room(self, room_id: str) -> str | None:
        lock = self.locks.get(room_id)
        if lock is None:
            return None
        if room_id in self.broken_locks:
            raise DeviceFailure(lock, "timeout", "no answer in 5s")
        self.unlocked.append(room_id)
        return lock

    async def power_room(self, room_id: str, on: bool) -> str | None:
        switch = self.switches.get(room_id)
        if switch is None:
            return None
        if room_id in self.broken_switches:
            raise DeviceFailure(switch, "offline", "cannot connect")
        self.powered.append((room_id, on))
        return switch
