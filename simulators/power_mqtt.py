"""SimulatedMqttSwitch: a relay board on MQTT (`set` a channel, `status`), with fault injection."""

from __future__ import annotations

import time
from typing import Any

from .mqtt_device import Clock, SimulatedMqttDevice, dumps


class SimulatedMqttSwitch(SimulatedMqttDevice):
    """Answers set/status on `gh/dev/<id>/cmd` with its channels; counts accepted writes in `writes`."""

    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        *,
        channels: int = 4,
        heartbeat_s: float = 30.0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(host, port, device_id, heartbeat_s=heartbeat_s, battery=None, clock=clock)
        if channels < 1:
            raise ValueError("a switch has at least one channel")
        self._values = [False] * channels
        self.writes = 0

    @property
    def channels(self) -> list[bool]:
        """The current channel values."""
        return list(self._values)

    async def press(self, channel: int, on: bool) -> None:
        """Someone flips a channel by hand: the switch reports it (cmd_id null)."""
        self._values[channel] = on
        await self._publish_state(None)

    async def _on_connect(self) -> None:
        await self._publish_state(None)

    async def _handle(self, cmd: dict[str, Any], cmd_id: str) -> None:
        op = cmd.get("op")
        if op == "status":
            await self._publish_state(cmd_id)
            return
        if op != "set":
            await self.publish_error("unknown_op", cmd_id)
            return
        channel, on = cmd.get("channel"), cmd.get("on")
        if (
            not isinstance(channel, int)
            or isinstance(channel, bool)
            or not isinstance(on, bool)
            or not 0 <= channel < len(self._values)
        ):
            await self.publish_error("bad_request", cmd_id)
            return
        self._values[channel] = on
        self.writes += 1
        await self._publish_state(cmd_id)

    async def _publish_state(self, cmd_id: str | None) -> None:
        payload = {"channels": list(self._values), "cmd_id": cmd_id, "ts": self.clock()}
        await self.publish("state", dumps(payload), retain=True)
