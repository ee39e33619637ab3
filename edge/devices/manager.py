"""DeviceManager: the store's drivers, built from the cached device records and kept in step with them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from drivers.lock import Lock, LockError, LockStatus
from drivers.mqtt import MqttBus
from drivers.power import PowerError, PowerSwitch
from drivers.scanner import Scan
from edge.actuators import DeviceFailure
from edge.clock import Clock, now_ms
from edge.devices.registry import BuildContext, BuiltDevice, DeviceConfigError, DriverTiming, build
from edge.records import Device, NewEvent
from edge.store import EdgeStore

logger = logging.getLogger(__name__)

CodeHandler = Callable[[str, str], Awaitable[object]]

# Beyond the drivers' own per-try timeouts: a last guard so no device call can hang redemption.
_GUARD_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's last known state, for read paths (no I/O)."""

    state: str
    detail: str | None = None
    at: float | None = None


def _lock_status(status: LockStatus) -> DeviceStatus:
    door = None if status.door_open is None else ("door_open" if status.door_open else "door_closed")
    return DeviceStatus(status.state.value, door, status.at)


class DeviceManager:
    """Builds drivers from device records by (kind, protocol), rebuilds changed ones, opens rooms.

    Implements RoomActuators for redemption and commands; lock status changes become
    `device_state` outbox events (only when the state actually changes).
    """

    def __init__(
        self,
        store: EdgeStore,
        bus: MqttBus,
        clock: Clock,
        *,
        timing: DriverTiming | None = None,
        on_code: CodeHandler | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._timing = timing or DriverTiming()
        self._ctx = BuildContext(bus, self._on_scan, self._timing)
        self.on_code = on_code
        self._devices: dict[str, BuiltDevice] = {}
        self._records: dict[str, Device] = {}
        self._statuses: dict[str, DeviceStatus] = {}
        self._reported: dict[str, tuple[str, str | None]] = {}
        self._unsubscribes: dict[str, Callable[[], None]] = {}
        self._events: asyncio.Queue[NewEvent] = asyncio.Queue()
        self._sync_requested = asyncio.Event()
        self._generation = 0
        self._synced_generation = -1
        self._synced = asyncio.Condition()

    # ---- read paths ----

    def status(self, device_id: str) -> DeviceStatus | None:
        """The device's last known state."""
        return self._statuses.get(device_id)

    def statuses(self) -> dict[str, DeviceStatus]:
        """Every device's last known state, by device id."""
        return dict(self._statuses)

    def record(self, device_id: str) -> Device | None:
        """The device record the running driver was built from."""
        return self._records.get(device_id)

    def lock_for(self, room_id: str) -> Lock | None:
        """The room's lock driver (the first by device id when several)."""
        built = self._first(room_id, "lock")
        return built.lock if built is not None else None

    def power_for(self, room_id: str) -> PowerSwitch | None:
        """The room's power switch driver (the first by device id when several)."""
        built = self._first(room_id, "power")
        return built.power if built is not None else None

    def _first(self, room_id: str, kind: str) -> BuiltDevice | None:
        for device_id in sorted(self._devices):
            built = self._devices[device_id]
            if built.record.room_id == room_id and built.record.kind == kind:
                return built
        return None

    # ---- RoomActuators ----

    def _guard_s(self) -> float:
        t = self._timing
        return t.timeout_s * t.tries + t.backoff_s * 2.0**t.tries + _GUARD_MARGIN_S

    async def unlock_room(self, room_id: str) -> str | None:
        """Unlock the room's lock; return its id (None: the room has no lock) or raise DeviceFailure."""
        lock = self.lock_for(room_id)
        if lock is None:
            return None
        try:
            async with asyncio.timeout(self._guard_s()):
                status = await lock.unlock()
        except LockError as err:
            raise DeviceFailure(lock.device_id, err.code, str(err)) from err
        except TimeoutError as err:
            raise DeviceFailure(lock.device_id, "timeout", "lock did not answer") from err
        self._set_status(lock.device_id, _lock_status(status))
        return lock.device_id

    async def power_room(self, room_id: str, on: bool) -> str | None:
        """Switch all the room's power channels; return the switch id (None: none) or raise DeviceFailure."""
        built = self._first(room_id, "power")
        if built is None or built.power is None:
            return None
        switch: PowerSwitch = built.power
        try:
            async with asyncio.timeout(self._guard_s() * built.channels):
                for channel in range(built.channels):
                    value = await switch.set(on, channel)
                    if value != on:
                        raise DeviceFailure(
                            switch.device_id, "bad_reply", f"channel {channel} read back {value}"
                        )
        except PowerError as err:
            self._set_status(switch.device_id, DeviceStatus("error", err.code, self._clock.now()))
            raise DeviceFailure(switch.device_id, err.code, str(err)) from err
        except TimeoutError as err:
            raise DeviceFailure(switch.device_id, "timeout", "power switch did not answer") from err
        self._set_status(switch.device_id, DeviceStatus("on" if on else "off", None, self._clock.now()))
        return switch.device_id

    # ---- lifetime ----

    def request_sync(self) -> None:
        """Ask for the drivers to be brought in step with the device records (after store data)."""
        self._generation += 1
        self._sync_requested.set()

    async def wait_synced(self) -> None:
        """Wait until every requested sync has been carried out."""
        async with self._synced:
            await self._synced.wait_for(lambda: self._synced_generation >= self._generation)

    async def run(self) -> None:
        """Sync drivers when asked and write device-state events, until cancelled; then stop every driver."""
        self.request_sync()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._sync_loop(), name="edge-devices-sync")
                tg.create_task(self._event_loop(), name="edge-devices-events")
        finally:
            await self.stop_all()

    async def stop_all(self) -> None:
        """Stop every driver."""
        for device_id in list(self._devices):
            await self._stop(device_id)

    async def _sync_loop(self) -> None:
        while True:
            await self._sync_requested.wait()
            self._sync_requested.clear()
            generation = self._generation
            try:
                await self.sync()
            except Exception:
                logger.exception("device sync failed")
            async with self._synced:
                self._synced_generation = generation
                self._synced.notify_all()

    async def sync(self) -> None:
        """Rebuild only the drivers whose device records were added, changed or removed."""
        records = {d.id: d for d in await self._store.devices()}
        for device_id, current in list(self._records.items()):
            if records.get(device_id) != current:
                await self._stop(device_id)
        for device_id, record in records.items():
            if device_id not in self._records:
                await self._start(record)

    async def _start(self, record: Device) -> None:
        try:
            built = await build(self._ctx, record)
        except (ValueError, OSError) as err:  # DeviceConfigError is a ValueError
            code = err.code if isinstance(err, DeviceConfigError) else "build_failed"
            logger.error("device not built", extra={"device_id": record.id, "code": code, "error": str(err)})
            self._set_status(record.id, DeviceStatus(code, str(err), self._clock.now()))
            self._records[record.id] = record  # not retried until its record changes
            return
        self._devices[record.id] = built
        self._records[record.id] = record
        if built.lock is not None:
            lock = built.lock
            self._unsubscribes[record.id] = lock.on_status(
                lambda s: self._set_status(lock.device_id, _lock_status(s))
            )
            if lock.last_status is not None:
                self._set_status(record.id, _lock_status(lock.last_status))
        logger.info(
            "device started", extra={"device_id": record.id, "kind": record.kind, "protocol": record.protocol}
        )

    async def _stop(self, device_id: str) -> None:
        self._records.pop(device_id, None)
        unsubscribe = self._unsubscribes.pop(device_id, None)
        if unsubscribe is not None:
            unsubscribe()
        built = self._devices.pop(device_id, None)
        if built is None:
            return
        try:
            await built.stop()
        except Exception:
            logger.exception("device did not stop cleanly", extra={"device_id": device_id})
        logger.info("device stopped", extra={"device_id": device_id})

    # ---- states and scans ----

    def _set_status(self, device_id: str, status: DeviceStatus) -> None:
        self._statuses[device_id] = status
        key = (status.state, status.detail)
        if self._reported.get(device_id) == key:
            return
        self._reported[device_id] = key
        payload: dict[str, object] = {"device_id": device_id, "state": status.state}
        if status.detail is not None:
            payload["detail"] = status.detail
        self._events.put_nowait(NewEvent("device_state", now_ms(self._clock), payload))

    async def _event_loop(self) -> None:
        while True:
            batch = [await self._events.get()]
            while not self._events.empty():
                batch.append(self._events.get_nowait())
            try:
                await self._store.append_events(batch)
            except Exception:
                logger.exception("device state events not written", extra={"count": len(batch)})

    async def _on_scan(self, scan: Scan) -> None:
        if self.on_code is None:
            logger.warning("scan with no redemption handler", extra={"device_id": scan.device_id})
            return
        await self.on_code(scan.text, scan.device_id)
