"""SimulatedMqttGate: a turnstile on MQTT (`open`, `status`) with a pass counter and fault injection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .mqtt_device import Clock, SimulatedMqttDevice, dumps


class SimulatedMqttGate(SimulatedMqttDevice):
    """Answers open/status on `gh/dev/<id>/cmd` with `{"open", "passes", "cmd_id", "ts"}` (retained).

    An `open` releases the arm for one passage or `pulse_s`, whichever ends first; the gate then
    reports `"open": false` (cmd_id null). Extra fault: `jammed` (an open is refused with the error
    reply "jammed"). Counters: `opens`, `passes`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        *,
        pulse_s: float = 1.0,
        heartbeat_s: float = 30.0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(host, port, device_id, heartbeat_s=heartbeat_s, battery=None, clock=clock)
        self.pulse_s = pulse_s
        self.jammed = False
        self.is_open = False
        self.opens = 0
        self.passes = 0
        self._pulse: asyncio.Task[None] | None = None

    async def pass_through(self) -> bool:
        """Someone pushes the arm: counted and reported if the gate was open; False if it was closed."""
        if not self.is_open:
            return False
        self.passes += 1
        self._cancel_pulse()
        self.is_open = False
        await self._publish_state(None)
        return True

    async def _on_connect(self) -> None:
        await self._publish_state(None)

    async def _shutdown(self) -> None:
        self._cancel_pulse()

    async def _handle(self, cmd: dict[str, Any], cmd_id: str) -> None:
        op = cmd.get("op")
        if op == "status":
            await self._publish_state(cmd_id)
        elif op != "open":
            await self.publish_error("unknown_op", cmd_id)
        elif self.jammed:
            await self.publish_error("jammed", cmd_id)
        else:
            self.opens += 1
            self.is_open = True
            self._cancel_pulse()
            self._pulse = asyncio.create_task(self._pulse_ends(), name=f"sim gate pulse {self.device_id}")
            await self._publish_state(cmd_id)

    async def _pulse_ends(self) -> None:
        await asyncio.sleep(self.pulse_s)
        self._pulse = None
        self.is_open = False
        await self._publish_state(None)

    def _cancel_pulse(self) -> None:
        if self._pulse is not None:
            self._pulse.cancel()
            self._pulse = None

    async def _publish_state(self, cmd_id: str | None) -> None:
        payload = {"open": self.is_open, "passes": self.passes, "cmd_id": cmd_id, "ts": self.clock()}
        await self.publish("state", dumps(payload), retain=True)
