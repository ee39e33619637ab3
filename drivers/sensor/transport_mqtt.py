"""MqttSensor: a smoke alarm, emergency button or door contact reporting on `gh/dev/<id>/state`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from ..mqtt import HeartbeatWatch, MqttBus, device_topic
from ..mqtt.const import LEAF_STATE
from .codec import SensorState, decode_state
from .const import SensorKind
from .exceptions import SensorError

logger = logging.getLogger(__name__)


class MqttSensor:
    """Keeps a sensor's last state and heartbeat and tells listeners about changes.

    Bad messages are refused (logged with their code, counted in `rejected`) and reach no listener.
    """

    def __init__(
        self, bus: MqttBus, device_id: str, *, kind: SensorKind | None = None, clock: Clock = time.time
    ) -> None:
        self.device_id = device_id
        self.kind = kind
        self.last_state: SensorState | None = None
        self.rejected: dict[str, int] = {}
        self._log = {"device_id": device_id}
        self._changes: Listeners[SensorState] = Listeners("sensor change", self._log)
        self._states: Listeners[SensorState] = Listeners("sensor state", self._log)
        self._heartbeats = HeartbeatWatch(bus, device_id, clock=clock)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(
            device_topic(device_id, LEAF_STATE), self._on_state
        )

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, battery, receive time)."""
        return self._heartbeats.last

    def on_change(self, callback: Callable[[SensorState], None]) -> Callable[[], None]:
        """Call `callback(state)` on the first state and every flip of `active`; returns the unsubscribe."""
        return self._changes.add(callback)

    def on_state(self, callback: Callable[[SensorState], None]) -> Callable[[], None]:
        """Call `callback(state)` on every valid state message; returns the unsubscribe."""
        return self._states.add(callback)

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        return self._heartbeats.on_heartbeat(callback)

    def close(self) -> None:
        """Drop the subscriptions (the bus itself stays up)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._heartbeats.close()

    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            state = decode_state(payload, expect=self.kind)
        except SensorError as err:
            self.rejected[err.code] = self.rejected.get(err.code, 0) + 1
            logger.warning("sensor message refused", extra={**self._log, "code": err.code, "error": str(err)})
            return
        previous, self.last_state = self.last_state, state
        self._states.emit(state)
        if previous is None or previous.active != state.active or previous.kind != state.kind:
            if state.active:
                logger.warning("sensor active", extra={**self._log, "kind": state.kind.value})
            self._changes.emit(state)
