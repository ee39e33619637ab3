"""Commands before polls: per device and store-wide, a poll never starts while a command waits or runs."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator


class CommandGate:
    """Counts commands in flight (per device and in total) so the poller can step aside.

    A poll already on the wire is not cancelled (a cancelled Modbus request could have its late
    answer taken for the next one); it is one short read, and no new poll starts until every
    command is done. A device that has just answered a command is not polled for `fresh_s`: its
    read-back is the fresh state.
    """

    def __init__(self, clock: Callable[[], float], *, fresh_s: float = 5.0) -> None:
        self._clock = clock
        self._fresh_s = fresh_s
        self._pending: dict[str, int] = {}
        self._last_command: dict[str, float] = {}
        self._polling: set[str] = set()
        self.total_pending = 0

    @contextlib.contextmanager
    def command(self, device_id: str) -> Iterator[None]:
        """Hold while a command to the device is queued or running."""
        self._pending[device_id] = self._pending.get(device_id, 0) + 1
        self.total_pending += 1
        try:
            yield
        finally:
            self._pending[device_id] -= 1
            self.total_pending -= 1
            if not self._pending[device_id]:
                del self._pending[device_id]
            self._last_command[device_id] = self._clock()

    @contextlib.contextmanager
    def poll(self, device_id: str) -> Iterator[None]:
        """Hold while a poll of the device runs."""
        self._polling.add(device_id)
        try:
            yield
        finally:
            self._polling.discard(device_id)

    def may_poll(self, device_id: str) -> bool:
        """True when nothing is waiting: no command anywhere, no poll of it running, no fresh read-back."""
        if self.total_pending or device_id in self._polling:
            return False
        last = self._last_command.get(device_id, -math.inf)
        return self._clock() - last >= self._fresh_s

    def busy(self, device_id: str) -> bool:
        """True while a command to the device is queued or running."""
        return device_id in self._pending

    def forget(self, device_id: str) -> None:
        """Drop what is known of a removed device."""
        self._last_command.pop(device_id, None)
        self._polling.discard(device_id)
