"""The PowerSwitch interface every power switch driver implements."""

from __future__ import annotations

from typing import Protocol


class PowerSwitch(Protocol):
    """A switch with numbered channels (lights, AC, fresh air...); commands read back what they set."""

    device_id: str

    async def set(self, on: bool, channel: int = 0) -> bool:
        """Switch a channel; returns the value read back from the device or raises a PowerError."""
        ...

    async def state(self, channel: int = 0) -> bool:
        """Read a channel from the device."""
        ...
