"""HeartbeatWatch: keeps the last heartbeat of one MQTT device and tells listeners about each one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from .client import MqttBus
from .codec import decode_heartbeat, device_topic
from .const import LEAF_HEARTBEAT
from .exceptions import MqttPayloadError

logger = logging.getLogger(__name__)


class HeartbeatWatch:
    """Subscribes `gh/dev/<id>/heartbeat`; `last` is the newest valid heartbeat (no I/O to read it)."""

    def __init__(self, bus: MqttBus, device_id: str, *, clock: Clock = time.time) -> None:
        self.device_id = device_id
        self.last: Heartbeat | None = None
        self.rejected = 0
        self._clock = clock
        self._listeners: Listeners[Heartbeat] = Listeners("heartbeat", {"device_id": device_id})
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(
            device_topic(device_id, LEAF_HEARTBEAT), self._on_message
        )

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` for every valid heartbeat; returns the unsubscribe."""
        return self._listeners.add(callback)

    def close(self) -> None:
        """Drop the subscription."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            heartbeat = decode_heartbeat(payload, received_at=self._clock())
        except MqttPayloadError as err:
            self.rejected += 1
            logger.warning(
                "device sent a bad heartbeat",
                extra={"device_id": self.device_id, "code": err.code, "error": str(err)},
            )
            return
        self.last = heartbeat
        self._listeners.emit(heartbeat)
