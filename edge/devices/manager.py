"""DeviceManager: the store's drivers, built from the cached device records and kept in step with them.

It owns every device link and keeps, in memory, what read paths show (states, availability): the
panel never waits on a device. Commands go straight to the drivers (which retry with read-back)
and pre-empt polling. Nothing a device does or fails to do ends the manager: failures become
`DeviceFailure` for the caller, or faults reported through `on_problem`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from drivers.gate import GateError, GateStatus
from drivers.lock import Heartbeat, LockDoorOpen, LockError, LockState, LockStatus, MonitoredLock
from drivers.mqtt import MqttBus, MqttError
from drivers.power import PowerError, PowerSwitch
from drivers.printer import Cut, Feed, Line, PrinterError, PrinterStatus, PrintJob
from drivers.scanner import Scan
from drivers.sensor import SensorKind, SensorState
from edge.actuators import Announcement, DeviceFailure, DoorResult, NoSuchDevice
from edge.clock import Clock, now_ms
from edge.devices import availability as av
from edge.devices.gate import CommandGate
from edge.devices.registry import BuildContext, BuiltDevice, DeviceConfigError, DriverTiming, build
from edge.faults.model import FaultCode, FaultSpec
from edge.records import Device, NewEvent
from edge.store import EdgeStore

logger = logging.getLogger(__name__)

CodeHandler = Callable[[str, str], Awaitable[object]]
ProblemHandler = Callable[[FaultSpec], Awaitable[object]]

# Beyond the drivers' own per-try timeouts: a last guard so no device call can hang its caller.
_GUARD_MARGIN_S = 5.0
SAY_LEAF = "say"
# What an active sensor means: smoke and the emergency button sound the alarm; a contact is a state.
SENSOR_ALARMS: dict[SensorKind, str] = {
    SensorKind.SMOKE: FaultCode.SMOKE,
    SensorKind.BUTTON: FaultCode.EMERGENCY,
}
# Printer faults worth a work order (a printer that merely went offline shows in its availability).
PRINTER_FAULTS = frozenset({"paper_out", "cover_open", "error"})
MAX_PARALLEL_POLLS = 16


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's last known state, for read paths (no I/O)."""

    state: str
    detail: str | None = None
    at: float | None = None


@dataclass(frozen=True, slots=True)
class ManagerTiming:
    """How often the manager polls and checks availability, and how long a light flash lasts."""

    poll_s: float = 10.0
    check_s: float = 1.0
    flash_s: float = 0.5


def _lock_status(status: LockStatus) -> DeviceStatus:
    door = None if status.door_open is None else ("door_open" if status.door_open else "door_closed")
    return DeviceStatus(status.state.value, door, status.at)


def _channels_status(values: list[bool], at: float) -> DeviceStatus:
    if all(values):
        return DeviceStatus("on", None, at)
    if not any(values):
        return DeviceStatus("off", None, at)
    return DeviceStatus("partial", "on:" + ",".join(str(i) for i, v in enumerate(values) if v), at)


class DeviceManager:
    """Builds drivers by (kind, protocol), rebuilds changed ones, and acts on rooms for the edge.

    Implements the actuators of redemption, sessions, faults and commands. Lock state changes and
    availability changes become `device_state` events (only on change); jams, silence and low
    batteries become faults through `on_problem`.
    """

    def __init__(
        self,
        store: EdgeStore,
        bus: MqttBus,
        clock: Clock,
        *,
        timing: DriverTiming | None = None,
        manager_timing: ManagerTiming | None = None,
        on_code: CodeHandler | None = None,
        on_problem: ProblemHandler | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        ble_backend: type[Any] | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._timing = timing or DriverTiming()
        self._mtiming = manager_timing or ManagerTiming()
        self._monotonic = monotonic
        self._ctx = BuildContext(bus, self._on_scan, self._timing, ble_backend)
        self.on_code = on_code
        self.on_problem = on_problem
        self._devices: dict[str, BuiltDevice] = {}
        self._records: dict[str, Device] = {}
        self._statuses: dict[str, DeviceStatus] = {}
        self._reported: dict[str, tuple[str, str | None]] = {}
        self._health: dict[str, av.Health] = {}
        self._availability: dict[str, av.Availability] = {}
        self._next_poll: dict[str, float] = {}
        self._unsubscribes: dict[str, Callable[[], None]] = {}
        self._events: asyncio.Queue[NewEvent] = asyncio.Queue()
        self._problems: asyncio.Queue[FaultSpec] = asyncio.Queue()
        self._gate = CommandGate(monotonic, fresh_s=self._mtiming.poll_s / 2)
        self._polls: set[asyncio.Task[None]] = set()
        self._poll_slots = asyncio.Semaphore(MAX_PARALLEL_POLLS)
        self._sync_requested = asyncio.Event()
        self._generation = 0
        self._synced_generation = -1
        self._synced = asyncio.Condition()
        self.commands_sent = 0

    # ---- read paths ----

    def status(self, device_id: str) -> DeviceStatus | None:
        """The device's last known state."""
        return self._statuses.get(device_id)

    def statuses(self) -> dict[str, DeviceStatus]:
        """Every device's last known state, by device id."""
        return dict(self._statuses)

    def availability(self, device_id: str) -> av.Availability:
        """Whether the device is online, offline or not known yet."""
        return self._availability.get(device_id, av.Availability.UNKNOWN)

    def availabilities(self) -> dict[str, av.Availability]:
        """Every device's availability, by device id."""
        return dict(self._availability)

    def last_seen(self) -> dict[str, float]:
        """When each device was last heard from, in unix seconds of the edge's clock (never heard: absent)."""
        now, mono = self._clock.now(), self._monotonic()
        return {d: now - (mono - h.last_seen) for d, h in self._health.items() if h.last_seen is not None}

    def record(self, device_id: str) -> Device | None:
        """The device record the running driver was built from."""
        return self._records.get(device_id)

    def lock_for(self, room_id: str) -> MonitoredLock | None:
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

    # ---- actuators ----

    def _guard_s(self) -> float:
        t = self._timing
        return t.timeout_s * t.tries + t.backoff_s * 2.0**t.tries + _GUARD_MARGIN_S

    @contextlib.contextmanager
    def _command(self, device_id: str, op: str, room_id: str | None) -> Iterator[str]:
        """Every command: an id for the logs, the gate that holds polls back, and a count."""
        command_id = uuid.uuid4().hex[:16]
        self.commands_sent += 1
        started = self._monotonic()
        with self._gate.command(device_id):
            logger.debug(
                "device command",
                extra={"command_id": command_id, "device_id": device_id, "op": op, "room_id": room_id},
            )
            yield command_id
        logger.debug(
            "device command done",
            extra={
                "command_id": command_id,
                "device_id": device_id,
                "op": op,
                "ms": (self._monotonic() - started) * 1000,
            },
        )

    async def unlock_room(self, room_id: str) -> str | None:
        """Unlock the room's lock; return its id (None: the room has no lock) or raise DeviceFailure."""
        built = self._first(room_id, "lock")
        if built is None or built.lock is None:
            return None
        await self._lock_op(built.lock, "unlock", room_id)
        return built.lock.device_id

    async def lock_room(self, room_id: str) -> str | None:
        """Lock the room's lock from outside (the inside handle always opens); None: no lock.

        A door left standing open is not a failure: the lock locks itself when the door closes.
        """
        built = self._first(room_id, "lock")
        if built is None or built.lock is None:
            return None
        try:
            await self._lock_op(built.lock, "lock", room_id)
        except DeviceFailure as err:
            if err.code != LockDoorOpen.code:
                raise
            logger.info("door open at lock time: it locks when it closes", extra={"room_id": room_id})
        return built.lock.device_id

    async def _lock_op(self, lock: MonitoredLock, op: str, room_id: str | None) -> LockStatus:
        with self._command(lock.device_id, op, room_id) as command_id:
            try:
                async with asyncio.timeout(self._guard_s()):
                    status = await (lock.unlock() if op == "unlock" else lock.lock())
            except LockError as err:
                raise DeviceFailure(lock.device_id, err.code, f"{op} failed: {err}", kind="lock") from err
            except TimeoutError as err:
                raise DeviceFailure(
                    lock.device_id, "timeout", f"lock did not answer {op}", kind="lock"
                ) from err
        logger.info(
            "lock command done", extra={"command_id": command_id, "device_id": lock.device_id, "op": op}
        )
        self._seen(lock.device_id)
        self._set_status(lock.device_id, _lock_status(status))
        return status

    async def unlock_all(self, only: Collection[str] | None = None) -> list[DoorResult]:
        """Unlock every lock and release every gate (of the `only` device ids when given) at once."""
        doors = [
            b
            for b in self._devices.values()
            if (b.lock is not None or b.gate is not None) and (only is None or b.record.id in only)
        ]

        async def one(built: BuiltDevice) -> DoorResult:
            try:
                if built.lock is not None:
                    await self._lock_op(built.lock, "unlock", built.record.room_id)
                else:
                    await self._gate_open(built)
            except DeviceFailure as err:
                return DoorResult(built.record.id, built.record.room_id, err)
            return DoorResult(built.record.id, built.record.room_id)

        return list(await asyncio.gather(*(one(b) for b in doors)))

    async def open_gate(self, scanner_id: str | None) -> str | None:
        """Release the entrance gate of a store-wide scanner (its `gate` config, else the only gate)."""
        if scanner_id is None:
            return None
        record = self._records.get(scanner_id)
        if record is None or record.room_id is not None:
            return None
        gates = [b for b in self._devices.values() if b.gate is not None]
        wanted = record.setting("gate")
        chosen = [b for b in gates if b.record.id == wanted] if wanted else (gates if len(gates) == 1 else [])
        if not chosen:
            return None
        await self._gate_open(chosen[0])
        return chosen[0].record.id

    async def _gate_open(self, built: BuiltDevice) -> GateStatus:
        gate = built.gate
        assert gate is not None
        with self._command(gate.device_id, "open", None):
            try:
                async with asyncio.timeout(self._guard_s()):
                    status = await gate.open()
            except GateError as err:
                raise DeviceFailure(
                    gate.device_id, err.code, f"gate did not open: {err}", kind="gate"
                ) from err
            except TimeoutError as err:
                raise DeviceFailure(gate.device_id, "timeout", "gate did not answer", kind="gate") from err
        self._seen(gate.device_id)
        self._on_gate_status(gate.device_id, status)
        return status

    async def power_room(self, room_id: str, on: bool) -> str | None:
        """Switch all the room's power channels; return the switch id (None: none) or raise DeviceFailure."""
        built = self._first(room_id, "power")
        if built is None or built.power is None:
            return None
        switch: PowerSwitch = built.power
        with self._command(switch.device_id, "power_on" if on else "power_off", room_id):
            try:
                async with asyncio.timeout(self._guard_s() * built.channels):
                    for channel in range(built.channels):
                        value = await switch.set(on, channel)
                        if value != on:
                            raise DeviceFailure(
                                switch.device_id,
                                "bad_reply",
                                f"channel {channel} read back {value}",
                                kind="power",
                            )
            except PowerError as err:
                self._set_status(switch.device_id, DeviceStatus("error", err.code, self._clock.now()))
                raise DeviceFailure(switch.device_id, err.code, str(err), kind="power") from err
            except TimeoutError as err:
                raise DeviceFailure(
                    switch.device_id, "timeout", "power switch did not answer", kind="power"
                ) from err
        self._seen(switch.device_id)
        self._set_status(switch.device_id, DeviceStatus("on" if on else "off", None, self._clock.now()))
        return switch.device_id

    async def flash_room(self, room_id: str) -> str | None:
        """Flash the room's lights: the lights channel off, then on again (read back each time)."""
        built = self._first(room_id, "power")
        if built is None or built.power is None:
            return None
        switch: PowerSwitch = built.power
        lights = built.lights()
        with self._command(switch.device_id, "flash", room_id):
            try:
                async with asyncio.timeout(self._guard_s() * 2 * len(lights) + self._mtiming.flash_s):
                    for on in (False, True):
                        for channel in lights:
                            value = await switch.set(on, channel)
                            if value != on:
                                raise DeviceFailure(
                                    switch.device_id, "bad_reply", f"lights read back {value}", kind="power"
                                )
                        if not on:
                            await asyncio.sleep(self._mtiming.flash_s)
            except PowerError as err:
                raise DeviceFailure(switch.device_id, err.code, f"flash failed: {err}", kind="power") from err
            except TimeoutError as err:
                raise DeviceFailure(
                    switch.device_id, "timeout", "lights did not answer", kind="power"
                ) from err
        self._seen(switch.device_id)
        return switch.device_id

    async def announce(self, room_id: str, announcement: Announcement) -> str:
        """Publish a message to the room's speaker (`gh/dev/<speaker or room>/say`); return the target."""
        speaker = self._first(room_id, "speaker")
        target = speaker.record.id if speaker is not None else room_id
        payload = {
            "id": uuid.uuid4().hex,
            "room_id": room_id,
            "kind": announcement.kind,
            "text": announcement.text,
            "minutes_left": announcement.minutes_left,
            "ts": self._clock.now(),
        }
        try:
            await self._bus.publish(f"gh/dev/{target}/{SAY_LEAF}", json.dumps(payload).encode(), qos=1)
        except MqttError as err:
            raise DeviceFailure(
                target, "offline", f"speaker message not sent: {err}", kind="speaker"
            ) from err
        return target

    async def print_text(
        self, text: str, *, printer_id: str | None = None, room_id: str | None = None
    ) -> str:
        """Print on a printer (by id, else the room's, else the store's first); return its id or raise."""
        printers = sorted(
            (b for b in self._devices.values() if b.printer is not None), key=lambda b: b.record.id
        )
        if printer_id is not None:
            chosen = [b for b in printers if b.record.id == printer_id]
        else:
            chosen = [b for b in printers if room_id is not None and b.record.room_id == room_id] or [
                b for b in printers if b.record.room_id is None
            ]
        if not chosen:
            raise NoSuchDevice("no_printer", "no printer to print on")
        built = chosen[0]
        printer = built.printer
        assert printer is not None
        lines = ["".join(ch if ch.isprintable() else " " for ch in line) for line in text.splitlines()] or [
            ""
        ]
        job = PrintJob((*(Line(line) for line in lines), Feed(2), Cut()), job_id=uuid.uuid4().hex[:12])
        with self._command(printer.device_id, "print", room_id):
            try:
                async with asyncio.timeout(self._guard_s() * 3):
                    receipt = await printer.print(job)
            except PrinterError as err:
                self._printer_problem(built, err)
                raise DeviceFailure(
                    printer.device_id, err.code, f"print failed: {err}", kind="printer"
                ) from err
            except TimeoutError as err:
                raise DeviceFailure(
                    printer.device_id, "timeout", "printer did not answer", kind="printer"
                ) from err
        self._seen(printer.device_id)
        self._on_printer_status(built, receipt.status)
        return printer.device_id

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
        """Keep drivers in step, write events, poll, watch availability, until cancelled; then stop all."""
        self.request_sync()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._sync_loop(), name="edge-devices-sync")
                tg.create_task(self._event_loop(), name="edge-devices-events")
                tg.create_task(self._problem_loop(), name="edge-devices-problems")
                tg.create_task(self._watch_loop(), name="edge-devices-watch")
        finally:
            for task in list(self._polls):
                task.cancel()
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
        except DeviceConfigError as err:
            self._not_built(record, err.code, str(err))
            return
        except Exception as err:  # a device must never stop the others from being built
            logger.exception("device build crashed", extra={"device_id": record.id})
            self._not_built(record, "build_failed", str(err))
            return
        self._devices[record.id] = built
        self._records[record.id] = record
        self._health[record.id] = av.Health(record.kind, self._monotonic(), interval_s=_interval(record))
        if av.evidence_of(record.kind, record.protocol) is av.Evidence.POLL:
            # Spread the first polls over one interval: 300 devices must not all answer at once.
            self._next_poll[record.id] = self._monotonic() + random.uniform(0, self._mtiming.poll_s)
        self._unsubscribes[record.id] = self._watch(built)
        logger.info(
            "device started", extra={"device_id": record.id, "kind": record.kind, "protocol": record.protocol}
        )

    def _watch(self, built: BuiltDevice) -> Callable[[], None]:
        """Subscribe to what a device pushes (state, heartbeats); returns one unsubscribe for all."""
        device_id = built.record.id
        cancels: list[Callable[[], None]] = []
        driver = built.driver
        on_heartbeat = getattr(driver, "on_heartbeat", None)
        if callable(on_heartbeat):
            cancels.append(on_heartbeat(lambda hb: self._on_heartbeat(device_id, hb)))
        if built.lock is not None:
            lock = built.lock
            cancels.append(lock.on_status(lambda s: self._on_lock_status(device_id, s)))
            if lock.last_status is not None:
                self._on_lock_status(device_id, lock.last_status)
        on_gate = getattr(built.gate, "on_status", None)
        if callable(on_gate):
            cancels.append(on_gate(lambda s: self._on_gate_status(device_id, s)))
        if built.sensor is not None:
            cancels.append(built.sensor.on_change(lambda s: self._on_sensor(device_id, s)))
            if built.sensor.last_state is not None:
                self._on_sensor(device_id, built.sensor.last_state)

        def cancel() -> None:
            for one in cancels:
                one()

        return cancel

    def _not_built(self, record: Device, code: str, message: str) -> None:
        logger.error("device not built", extra={"device_id": record.id, "code": code, "error": message})
        self._set_status(record.id, DeviceStatus(code, message, self._clock.now()))
        self._records[record.id] = record  # not retried until its record changes

    async def _stop(self, device_id: str) -> None:
        self._records.pop(device_id, None)
        self._health.pop(device_id, None)
        self._availability.pop(device_id, None)
        self._next_poll.pop(device_id, None)
        self._gate.forget(device_id)
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

    # ---- states, heartbeats, availability ----

    def _set_status(self, device_id: str, status: DeviceStatus, *, report: bool = True) -> None:
        self._statuses[device_id] = status
        key = (status.state, status.detail)
        if self._reported.get(device_id) == key:
            return
        self._reported[device_id] = key
        if report:
            self._state_event(device_id, status.state, status.detail)

    def _state_event(self, device_id: str, state: str, detail: str | None = None) -> None:
        payload: dict[str, object] = {"device_id": device_id, "state": state}
        if detail is not None:
            payload["detail"] = detail
        self._events.put_nowait(NewEvent("device_state", now_ms(self._clock), payload))

    def _problem(self, spec: FaultSpec) -> None:
        self._problems.put_nowait(spec)

    def _on_lock_status(self, device_id: str, status: LockStatus) -> None:
        self._seen(device_id)
        self._set_status(device_id, _lock_status(status))
        if status.state is LockState.JAMMED:
            record = self._records.get(device_id)
            self._problem(
                FaultSpec(
                    FaultCode.JAMMED,
                    "the lock reports its bolt jammed",
                    device_id=device_id,
                    device_kind="lock",
                    room_id=record.room_id if record is not None else None,
                )
            )

    def _seen(self, device_id: str, battery: int | None = None, *, heartbeat: bool = False) -> None:
        health = self._health.get(device_id)
        if health is None:
            return
        before = health.battery
        self._health[device_id] = health = av.seen(
            health, self._monotonic(), battery, from_heartbeat=heartbeat
        )
        self._update_availability(device_id, health)
        if heartbeat and av.battery_low(health) and (before is None or before > av.LOW_BATTERY_PCT):
            record = self._records.get(device_id)
            self._problem(
                FaultSpec(
                    FaultCode.BATTERY_LOW,
                    f"battery at {health.battery}%",
                    device_id=device_id,
                    device_kind=record.kind if record is not None else "device",
                    room_id=record.room_id if record is not None else None,
                )
            )

    def _on_heartbeat(self, device_id: str, heartbeat: Heartbeat) -> None:
        self._seen(device_id, heartbeat.battery, heartbeat=True)

    def _on_gate_status(self, device_id: str, status: GateStatus) -> None:
        self._seen(device_id)
        self._set_status(device_id, DeviceStatus("open" if status.open else "closed", None, status.at))

    def _on_sensor(self, device_id: str, state: SensorState) -> None:
        self._seen(device_id)
        record = self._records.get(device_id)
        room_id = record.room_id if record is not None else None
        if state.kind is SensorKind.CONTACT:
            self._set_status(device_id, DeviceStatus("open" if state.active else "closed", None, state.at))
            return
        self._set_status(
            device_id, DeviceStatus("active" if state.active else "idle", state.kind.value, state.at)
        )
        code = SENSOR_ALARMS.get(state.kind)
        if state.active and code is not None:
            self._problem(
                FaultSpec(code, f"{state.kind.value} sensor triggered", device_id, "sensor", room_id)
            )

    def _on_printer_status(self, built: BuiltDevice, status: PrinterStatus) -> None:
        detail = "paper_near_end" if status.paper_near_end else None
        self._set_status(built.record.id, DeviceStatus("ready", detail, self._clock.now()), report=False)

    def _printer_problem(self, built: BuiltDevice, err: PrinterError) -> None:
        self._set_status(built.record.id, DeviceStatus("error", err.code, self._clock.now()))
        if err.code in PRINTER_FAULTS:
            record = built.record
            self._problem(FaultSpec(err.code, f"printer: {err}", record.id, "printer", record.room_id))

    def _update_availability(self, device_id: str, health: av.Health) -> None:
        state = av.evaluate(health, self._monotonic())
        before = self._availability.get(device_id, av.Availability.UNKNOWN)
        if state is before:
            return
        self._availability[device_id] = state
        if state is av.Availability.OFFLINE:
            record = self._records.get(device_id)
            limit = health.liveness().limit_s
            logger.warning("device offline", extra={"device_id": device_id, "silent_s": limit})
            self._state_event(device_id, "offline")
            self._problem(
                FaultSpec(
                    FaultCode.OFFLINE,
                    f"no sign of life for more than {limit:g} s",
                    device_id=device_id,
                    device_kind=record.kind if record is not None else "device",
                    room_id=record.room_id if record is not None else None,
                )
            )
        elif before is av.Availability.OFFLINE:
            logger.info("device back online", extra={"device_id": device_id})
            self._state_event(device_id, "online")

    async def _watch_loop(self) -> None:
        while True:
            try:
                self._check_all()
            except Exception:
                logger.exception("device watch failed")
            await asyncio.sleep(self._mtiming.check_s)

    def _check_all(self) -> None:
        now = self._monotonic()
        for device_id, built in list(self._devices.items()):
            record = built.record
            evidence = av.evidence_of(record.kind, record.protocol)
            if evidence is av.Evidence.CONNECTION and getattr(built.scanner, "connected", False):
                self._seen(device_id)
            health = self._health.get(device_id)
            if health is not None:
                self._update_availability(device_id, health)
            if evidence is av.Evidence.POLL and now >= self._next_poll.get(device_id, now):
                self._start_poll(built, now)

    def _start_poll(self, built: BuiltDevice, now: float) -> None:
        device_id = built.record.id
        if not self._gate.may_poll(device_id):
            return  # commands first: look again at the next check
        self._next_poll[device_id] = now + self._mtiming.poll_s
        task = asyncio.create_task(self._poll(built), name=f"edge-poll {device_id}")
        self._polls.add(task)
        task.add_done_callback(self._polls.discard)

    async def _poll(self, built: BuiltDevice) -> None:
        device_id = built.record.id
        async with self._poll_slots:
            if self._gate.total_pending:
                return  # a command came in while this poll waited for a slot
            with self._gate.poll(device_id):
                try:
                    async with asyncio.timeout(self._guard_s() * built.channels):
                        await self._poll_once(built)
                except (PowerError, GateError, TimeoutError) as err:
                    logger.debug("poll failed", extra={"device_id": device_id, "error": repr(err)})
                    if isinstance(err, GateError) and err.code == FaultCode.JAMMED:
                        self._seen(device_id)
                        self._problem(
                            FaultSpec(err.code, f"gate: {err}", device_id, "gate", built.record.room_id)
                        )
                except PrinterError as err:
                    if err.code in PRINTER_FAULTS:
                        self._seen(device_id)  # it answered: it is there, only unwell
                    self._printer_problem(built, err)
                except Exception:
                    logger.exception("poll crashed", extra={"device_id": device_id})

    async def _poll_once(self, built: BuiltDevice) -> None:
        device_id = built.record.id
        first = device_id not in self._reported
        if built.power is not None:
            values = [await built.power.state(channel) for channel in range(built.channels)]
            self._seen(device_id)
            # The first poll is a baseline, not news; later differences (a switch turned by hand) are.
            self._set_status(device_id, _channels_status(values, self._clock.now()), report=not first)
        elif built.gate is not None:
            self._on_gate_status(device_id, await built.gate.status())
        elif built.printer is not None:
            status = await built.printer.status()
            self._seen(device_id)
            self._on_printer_status(built, status)

    async def _event_loop(self) -> None:
        while True:
            batch = [await self._events.get()]
            while not self._events.empty():
                batch.append(self._events.get_nowait())
            try:
                await self._store.append_events(batch)
            except Exception:
                logger.exception("device state events not written", extra={"count": len(batch)})

    async def _problem_loop(self) -> None:
        while True:
            spec = await self._problems.get()
            if self.on_problem is None:
                logger.warning("device problem with no fault handler", extra={"code": spec.code})
                continue
            try:
                await self.on_problem(spec)
            except Exception:
                logger.exception("device problem not recorded", extra={"device_id": spec.device_id})

    async def _on_scan(self, scan: Scan) -> None:
        self._seen(scan.device_id)
        if self.on_code is None:
            logger.warning("scan with no handler", extra={"device_id": scan.device_id})
            return
        await self.on_code(scan.text, scan.device_id)


def _interval(record: Device) -> float | None:
    raw = record.setting("heartbeat_s")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value > 0 else None
