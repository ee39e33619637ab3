"""What redemption and commands need from a room's devices, and how device trouble is reported."""

from __future__ import annotations

from typing import Protocol


class DeviceFailure(Exception):
    """A room's device did not do what it was told; `code` is the driver's stable code."""

    def __init__(self, device_id: str, code: str, message: str) -> None:
        super().__init__(f"{device_id}: {code}: {message}")
        self.device_id = device_id
        self.code = code
        self.message = message


class RoomActuators(Protocol):
    """Open a room's door and switch its power, raising DeviceFailure when the device fails."""

    async def unlock_room(self, room_id: str) -> str | None:
        """Unlock the room's lock; return its device id (None: the room has no lock)."""
        ...

    async def power_room(self, room_id: str, on: bool) -> str | None:
        """Switch every channel of the room's power switch; return its id (None: no switch)."""
        ...
