"""SimulatedMqttSensor: a smoke alarm, emergency button or door contact on MQTT, with garbage injection."""

from __future__ import annotations

import time

from .mqtt_device import GARBAGE, Clock, SimulatedMqttDevice, dumps

KINDS = frozenset({"smoke", "button", "contact"})


class SimulatedMqttSensor(SimulatedMqttDevice):
    """Publishes `{"kind", "active", "ts"}` (retained) on `gh/dev/<id>/state` and heartbeats.

    `trigger()` / `clear()` switch it; `send_raw(payload)` publishes anything on the state topic
    (fault injection), `send_garbage()` publishes invalid JSON. Takes no commands.
    """

    listens_for_commands = False

    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        kind: str = "smoke",
        *,
        battery: int | None = 95,
        heartbeat_s: float = 30.0,
        clock: Clock = time.time,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"sensor kind must be one of {sorted(KINDS)}")
        super().__init__(host, port, device_id, heartbeat_s=heartbeat_s, battery=battery, clock=clock)
        self.kind = kind
        self.active = False

    async def trigger(self) -> None:
        """Smoke / the button is pressed / the door opens."""
        self.active = True
        await self._publish_state()

    async def clear(self) -> None:
        """The alarm clears / the button is reset / the door closes."""
        self.active = False
        await self._publish_state()

    async def send_raw(self, payload: bytes, *, retain: bool = False) -> None:
        """Publish arbitrary bytes on the state topic."""
        await self.publish("state", payload, retain=retain)

    async def send_garbage(self) -> None:
        """Publish a payload that is not JSON on the state topic."""
        await self.send_raw(GARBAGE)

    async def _on_connect(self) -> None:
        await self._publish_state()

    async def _publish_state(self) -> None:
        payload = {"kind": self.kind, "active": self.active, "ts": self.clock()}
        await self.publish("state", dumps(payload), retain=True)
