"""The sensor interface: a push device whose last state is read without I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..heartbeat import Heartbeat
from .codec import SensorState


class Sensor(Protocol):
    """A smoke alarm, emergency button or door contact."""

    device_id: str
    last_state: SensorState | None

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat, or None before the first."""
        ...

    def on_change(self, callback: Callable[[SensorState], None]) -> Callable[[], None]:
        """Call `callback(state)` on the first state and every flip of `active`; returns the unsubscribe."""
        ...
