"""MqttScanner: scans published by the scanner on `gh/dev/<id>/scan`, handed to the handler in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from ..mqtt import HeartbeatWatch, MqttBus, device_topic
from ..mqtt.const import LEAF_SCAN
from .client import ScanHandler, deliver
from .codec import Scan, decode_scan
from .exceptions import ScanDecodeError

logger = logging.getLogger(__name__)


class MqttScanner:
    """Subscribes on the bus; a worker task calls the handler once per scan, one at a time."""

    def __init__(
        self, bus: MqttBus, device_id: str, handler: ScanHandler, *, clock: Clock = time.time
    ) -> None:
        self.device_id = device_id
        self.dropped = 0
        self._bus = bus
        self._handler = handler
        self._topic = device_topic(device_id, LEAF_SCAN)
        self._queue: asyncio.Queue[Scan] = asyncio.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._clock = clock
        self._heartbeats: HeartbeatWatch | None = None
        self._heartbeat_listeners: Listeners[Heartbeat] = Listeners("heartbeat", {"device_id": device_id})

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat since `start()` (device ts, receive time)."""
        return self._heartbeats.last if self._heartbeats is not None else None

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat while started; returns the unsubscribe."""
        return self._heartbeat_listeners.add(callback)

    async def start(self) -> None:
        """Subscribe and start delivering scans."""
        if self._worker is not None:
            return
        self._heartbeats = HeartbeatWatch(self._bus, self.device_id, clock=self._clock)
        self._heartbeats.on_heartbeat(self._heartbeat_listeners.emit)
        self._worker = asyncio.create_task(self._work(), name=f"mqtt-scanner {self.device_id}")
        self._unsubscribe = self._bus.subscribe(self._topic, self._on_scan)

    async def stop(self) -> None:
        """Unsubscribe and stop the worker (scans not yet handled are dropped)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._heartbeats is not None:
            self._heartbeats.close()
            self._heartbeats = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def _on_scan(self, topic: str, payload: bytes) -> None:
        try:
            text = decode_scan(payload)
        except ScanDecodeError as err:
            self.dropped += 1
            logger.warning("scanner sent a bad scan", extra={"device_id": self.device_id, "error": str(err)})
            return
        self._queue.put_nowait(Scan(self.device_id, text))

    async def _work(self) -> None:
        while True:
            scan = await self._queue.get()
            await deliver(self._handler, scan)
