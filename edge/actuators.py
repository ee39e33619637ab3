"""What redemption, sessions, faults and commands need from the store's devices, and device trouble."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol


class DeviceFailure(Exception):
    """A room's device did not do what it was told; `code` is the driver's stable code."""

    def __init__(self, device_id: str, code: str, message: str, *, kind: str = "") -> None:
        super().__init__(f"{device_id}: {code}: {message}")
        self.device_id = device_id
        self.code = code
        self.message = message
        self.kind = kind


class NoSuchDevice(Exception):
    """There is no device to carry out a request (no printer, no lock); `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Announcement:
    """A message for a room's speaker (`kind` is a stable code, `text` what is said)."""

    kind: str
    text: str
    minutes_left: int | None = None


@dataclass(frozen=True, slots=True)
class DoorResult:
    """The outcome of opening one door in an alarm: failure is None when it opened."""

    device_id: str
    room_id: str | None
    failure: DeviceFailure | None = None


class RoomActuators(Protocol):
    """Open a room's door and switch its power, raising DeviceFailure when the device fails."""

    async def unlock_room(self, room_id: str) -> str | None:
        """Unlock the room's lock; return its device id (None: the room has no lock)."""
        ...

    async def power_room(self, room_id: str, on: bool) -> str | None:
        """Switch every channel of the room's power switch; return its id (None: no switch)."""
        ...

    async def open_gate(self, scanner_id: str | None) -> str | None:
        """Release the entrance gate a store-wide scanner stands at; return its id (None: no gate)."""
        ...


class SessionActuators(RoomActuators, Protocol):
    """What room sessions need besides opening: lock, flash the lights, speak."""

    async def lock_room(self, room_id: str) -> str | None:
        """Lock the room's lock (from outside; the inside handle always opens); return its id."""
        ...

    async def flash_room(self, room_id: str) -> str | None:
        """Flash the room's lights (toggle the lights channel); return the switch id."""
        ...

    async def announce(self, room_id: str, announcement: Announcement) -> str:
        """Send a message to the room's speaker; return the topic's device or room id."""
        ...


class StoreActuators(SessionActuators, Protocol):
    """Store-wide actions: every door at once (alarms) and printing."""

    async def unlock_all(self, only: Collection[str] | None = None) -> list[DoorResult]:
        """Unlock every lock and gate (only those of the `only` device ids when given) at once."""
        ...

    async def print_text(
        self, text: str, *, printer_id: str | None = None, room_id: str | None = None
    ) -> str:
        """Print on a printer (by id, else the room's, else the store's); return its id or raise."""
        ...
