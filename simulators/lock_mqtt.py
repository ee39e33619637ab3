"""SimulatedMqttLock: a door lock on MQTT with auto-relock, a door contact and fault injection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .mqtt_device import Clock, SimulatedMqttDevice, dumps

LOCKED = "locked"
UNLOCKING = "unlocking"
UNLOCKED = "unlocked"
LOCKING = "locking"
JAMMED = "jammed"
OPEN = "open"


class SimulatedMqttLock(SimulatedMqttDevice):
    """Answers unlock/lock/status on `gh/dev/<id>/cmd`; publishes its retained state on connect.

    The door contact: opening the door makes the state "open" (an unlock then answers "open", a
    lock is refused with state "open"); closing it relocks. Extra fault: `jammed` (every
    unlock/lock/status answers state "jammed"). Counters: `unlocks` and (from the base) `commands`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        *,
        relock_after_s: float = 5.0,
        heartbeat_s: float = 30.0,
        battery: int | None = 90,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(host, port, device_id, heartbeat_s=heartbeat_s, battery=battery, clock=clock)
        self.relock_after_s = relock_after_s
        self.state = LOCKED
        self.door_open = False
        self.jammed = False
        self.unlocks = 0
        self._relock: asyncio.Task[None] | None = None
        self._ops: dict[str, Callable[[str], Awaitable[None]]] = {
            "unlock": self._unlock,
            "lock": self._lock,
            "status": self._status,
        }

    async def set_door(self, open_: bool) -> None:
        """Open or close the door (its contact reports on the state topic; closing relocks)."""
        self.door_open = open_
        if open_ and self.state != JAMMED:
            self._cancel_relock()
            self.state = OPEN
        elif not open_ and self.state == OPEN:
            self.state = LOCKED
        await self._publish_state(None)

    async def _on_connect(self) -> None:
        await self._publish_state(None)

    async def _shutdown(self) -> None:
        self._cancel_relock()

    async def _handle(self, cmd: dict[str, Any], cmd_id: str) -> None:
        op = cmd.get("op")
        handler = self._ops.get(op) if isinstance(op, str) else None
        if handler is None:
            await self.publish_error("unknown_op", cmd_id)
            return
        await handler(cmd_id)

    async def _unlock(self, cmd_id: str) -> None:
        if await self._answer_jammed(cmd_id):
            return
        self.unlocks += 1
        if self.state == OPEN:
            await self._publish_state(cmd_id)
            return
        self._cancel_relock()
        payloads = [] if self.state == UNLOCKED else [self._payload(UNLOCKING, cmd_id)]
        self.state = UNLOCKED
        payloads.append(self._payload(UNLOCKED, cmd_id))
        if self.relock_after_s <= 0:
            self.state = LOCKED
            payloads.append(self._payload(LOCKED, None))
        else:
            self._relock = asyncio.create_task(self._relock_later(), name=f"sim relock {self.device_id}")
        await self.publish_pipelined("state", payloads, retain=True)

    async def _lock(self, cmd_id: str) -> None:
        if await self._answer_jammed(cmd_id):
            return
        if self.state == OPEN:
            await self._publish_state(cmd_id)  # refused: the door stands open
            return
        self._cancel_relock()
        payloads = [] if self.state == LOCKED else [self._payload(LOCKING, cmd_id)]
        self.state = LOCKED
        payloads.append(self._payload(LOCKED, cmd_id))
        await self.publish_pipelined("state", payloads, retain=True)

    async def _status(self, cmd_id: str) -> None:
        if await self._answer_jammed(cmd_id):
            return
        await self._publish_state(cmd_id)

    async def _answer_jammed(self, cmd_id: str) -> bool:
        if not self.jammed:
            if self.state == JAMMED:
                # Freed: the bolt is back in its resting position.
                self.state = OPEN if self.door_open else LOCKED
            return False
        self.state = JAMMED
        await self._publish_state(cmd_id)
        return True

    async def _relock_later(self) -> None:
        await asyncio.sleep(self.relock_after_s)
        self._relock = None
        if self.state == UNLOCKED:
            self.state = LOCKED
            await self._publish_state(None)

    def _cancel_relock(self) -> None:
        if self._relock is not None:
            self._relock.cancel()
            self._relock = None

    def _payload(self, state: str, cmd_id: str | None) -> bytes:
        door = "open" if self.door_open else "closed"
        return dumps({"state": state, "door": door, "cmd_id": cmd_id, "ts": self.clock()})

    async def _publish_state(self, cmd_id: str | None) -> None:
        await self.publish("state", self._payload(self.state, cmd_id), retain=True)
