"""SimulatedBleLock: a BLE door lock's firmware, reached through bleak's `backend=` hook.

`BleAir` is the radio space the simulated locks live in; `air.backend` is a subclass of bleak's
`BaseBleakClient`, so `BleakClient(address, backend=air.backend)` runs bleak's real client code
path against the simulated GATT server. Written from the GATT protocol in drivers/README.md, not
from the driver code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode

from .mqtt_device import Clock

logger = logging.getLogger(__name__)

SERVICE_UUID = "8e1f0001-5ad0-4c3e-9a4b-6761746568fe"
COMMAND_UUID = "8e1f0002-5ad0-4c3e-9a4b-6761746568fe"
EVENT_UUID = "8e1f0003-5ad0-4c3e-9a4b-6761746568fe"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"
MTU = 247

MAGIC, VERSION = 0xA5, 0x01
T_COMMAND, T_STATE, T_ERROR, T_HEARTBEAT = 0x01, 0x81, 0x82, 0x83
OPS = {1: "unlock", 2: "lock", 3: "status"}
STATE_CODES = {"locked": 0, "unlocking": 1, "unlocked": 2, "locking": 3, "jammed": 4, "open": 5}
ERROR_CODES = {"jammed": 1, "bad_frame": 2, "unknown_op": 3, "low_battery": 4, "busy": 5}
GARBAGE = b"\xa5\x01\x81\x00"  # a state frame cut short


def crc_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, bit by bit from its definition (poly 0x1021, init 0xFFFF)."""
    value = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = (value >> 15) & 1
            value = (value << 1) & 0xFFFF
            if top ^ ((byte >> bit) & 1):
                value ^= 0x1021
    return value


def _frame(kind: int, body: bytes, *, corrupt: bool = False) -> bytes:
    head = bytes([MAGIC, VERSION, kind]) + body
    crc = crc_ccitt(head) ^ (0x5A5A if corrupt else 0)
    return head + crc.to_bytes(2, "big")


class SimulatedBleLock:
    """A battery BLE lock: GATT command writes, state/heartbeat notifications, auto-relock, a door contact.

    Fault injection: `jammed`, `drop_commands` (accept the write, never answer), `delay_s` (answer
    late), `garbage` (answer with a truncated frame), `bad_crc` (answer with a corrupt CRC),
    `refuse_with` (answer with that error code), `reject_writes` (the GATT write itself fails with
    an ATT error), `go_offline()` / `come_online()` (out of range: links drop, connects fail),
    `drop_link()` (one link loss; the central may reconnect at once).
    Counters: `unlocks`, `commands` (every valid command frame as (seq, op)), `frames` (every write).
    """

    def __init__(
        self,
        address: str,
        *,
        name: str = "GH-LOCK",
        relock_after_s: float = 5.0,
        heartbeat_s: float = 30.0,
        battery: int | None = 80,
        clock: Clock = time.time,
    ) -> None:
        self.address = address.upper()
        self.name = name
        self.relock_after_s = relock_after_s
        self.heartbeat_s = heartbeat_s
        self.battery = battery
        self.clock = clock
        self.state = "locked"
        self.door_open = False
        self.jammed = False
        self.drop_commands = False
        self.delay_s = 0.0
        self.garbage = False
        self.bad_crc = False
        self.refuse_with: str | None = None
        self.reject_writes = False
        self.unlocks = 0
        self.connects = 0
        self.commands: list[tuple[int, str]] = []
        self.frames: list[bytes] = []
        self._online = True
        self._links: set[_SimulatedLink] = set()
        self._relock: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy = asyncio.Lock()
        self._log = {"address": self.address}

    # ---- lifetime ----

    async def __aenter__(self) -> Self:
        self.come_online()
        self._heartbeat = asyncio.create_task(self._heartbeats(), name=f"sim ble heartbeat {self.address}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.go_offline()
        tasks = [t for t in (self._heartbeat, self._relock, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._heartbeat = self._relock = None

    @property
    def offline(self) -> bool:
        """True while out of range."""
        return not self._online

    @property
    def connected(self) -> int:
        """How many centrals are connected now."""
        return len(self._links)

    @property
    def backend(self) -> type[BaseBleakClient]:
        """A bleak backend class that reaches this lock (and only it)."""
        return BleAir(self).backend

    def come_online(self) -> None:
        """Come in range: connects succeed again."""
        self._online = True

    def go_offline(self) -> None:
        """Go out of range: every link drops and connects fail until `come_online()`."""
        self._online = False
        self.drop_link()

    def drop_link(self) -> None:
        """Every connected central loses its link (an unsolicited disconnect)."""
        for link in list(self._links):
            link.lose()

    async def set_door(self, open_: bool) -> None:
        """The door opens or closes (the contact reports it; closing an open door relocks)."""
        self.door_open = open_
        if open_ and self.state != "jammed":
            self._cancel_relock()
            self.state = "open"
        elif not open_ and self.state == "open":
            self.state = "locked"
        self._notify_state(0)

    # ---- GATT server ----

    def _attach(self, link: _SimulatedLink) -> None:
        if not self._online:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found")
        self._links.add(link)
        self.connects += 1

    def _detach(self, link: _SimulatedLink) -> None:
        self._links.discard(link)

    def _subscribed(self, link: _SimulatedLink) -> None:
        # Like many locks: report the current state and a heartbeat when notifications are enabled.
        link.notify(EVENT_UUID, self._state_frame(0))
        link.notify(EVENT_UUID, self._heartbeat_frame())

    def _read(self, uuid: str) -> bytes:
        if uuid == EVENT_UUID:
            return self._state_frame(0)
        if uuid == BATTERY_LEVEL_UUID:
            return bytes([self.battery if self.battery is not None else 0])
        raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)

    def _write(self, uuid: str, data: bytes) -> None:
        if uuid != COMMAND_UUID:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        if self.reject_writes:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_REQUEST_REJECTED)
        self.frames.append(data)
        parsed = self._parse_command(data)
        if parsed is None:
            return
        seq, op = parsed
        self.commands.append((seq, op))
        if self.drop_commands:
            return
        # The write is acknowledged at once; the bolt moves afterwards, answered by notifications.
        task = asyncio.create_task(self._execute(seq, op), name=f"sim ble command {self.address}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _parse_command(self, data: bytes) -> tuple[int, str] | None:
        seq = int.from_bytes(data[3:5], "big") if len(data) >= 5 else 0
        if (
            len(data) != 8
            or data[0] != MAGIC
            or data[1] != VERSION
            or data[2] != T_COMMAND
            or int.from_bytes(data[6:8], "big") != crc_ccitt(data[:6])
        ):
            self._notify_error(seq, "bad_frame")
            return None
        op = OPS.get(data[5])
        if op is None:
            self._notify_error(seq, "unknown_op")
            return None
        return seq, op

    async def _execute(self, seq: int, op: str) -> None:
        async with self._busy:
            if self.delay_s > 0:
                await asyncio.sleep(self.delay_s)
            if self.garbage:
                self._broadcast(GARBAGE)
                return
            if self.refuse_with is not None:
                self._notify_error(seq, self.refuse_with)
                return
            if self.jammed:
                self.state = "jammed"
                self._notify_state(seq)
                return
            if self.state == "jammed":
                self.state = "open" if self.door_open else "locked"  # freed by a technician
            if op == "unlock":
                self._unlock(seq)
            elif op == "lock":
                self._lock(seq)
            else:
                self._notify_state(seq)

    def _unlock(self, seq: int) -> None:
        self.unlocks += 1
        if self.state == "open":
            self._notify_state(seq)
            return
        self._cancel_relock()
        if self.state != "unlocked":
            self.state = "unlocking"
            self._notify_state(seq)
        self.state = "unlocked"
        self._notify_state(seq)
        self._relock = asyncio.create_task(self._relock_later(), name=f"sim ble relock {self.address}")

    def _lock(self, seq: int) -> None:
        if self.state == "open":
            self._notify_state(seq)  # refused: the door stands open
            return
        self._cancel_relock()
        if self.state != "locked":
            self.state = "locking"
            self._notify_state(seq)
        self.state = "locked"
        self._notify_state(seq)

    async def _relock_later(self) -> None:
        await asyncio.sleep(self.relock_after_s)
        self._relock = None
        if self.state == "unlocked":
            self.state = "locked"
            self._notify_state(0)

    def _cancel_relock(self) -> None:
        if self._relock is not None and self._relock is not asyncio.current_task():
            self._relock.cancel()
        self._relock = None

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            self._broadcast(self._heartbeat_frame())

    # ---- frames ----

    def _stamp(self) -> bytes:
        now = self.clock()
        seconds = int(now)
        millis = min(round((now - seconds) * 1000), 999)
        return struct.pack(">IH", seconds, millis)

    def _state_frame(self, seq: int) -> bytes:
        door = 1 if self.door_open else 0
        body = struct.pack(">HBB", seq, STATE_CODES[self.state], door) + self._stamp()
        return _frame(T_STATE, body, corrupt=self.bad_crc)

    def _heartbeat_frame(self) -> bytes:
        battery = 255 if self.battery is None else self.battery
        return _frame(T_HEARTBEAT, bytes([battery]) + self._stamp())

    def _notify_state(self, seq: int) -> None:
        self._broadcast(self._state_frame(seq))

    def _notify_error(self, seq: int, code: str) -> None:
        self._broadcast(_frame(T_ERROR, struct.pack(">HB", seq, ERROR_CODES.get(code, 0xEE))))

    def _broadcast(self, frame: bytes) -> None:
        for link in list(self._links):
            link.notify(EVENT_UUID, frame)


class BleAir:
    """The radio space: simulated locks by address, and the bleak backend class that reaches them."""

    def __init__(self, *locks: SimulatedBleLock) -> None:
        self._locks: dict[str, SimulatedBleLock] = {}
        for lock in locks:
            self.add(lock)
        air = self

        class SimulatedBleakClient(_SimulatedLink):
            """A bleak backend bound to this air."""

            _air: ClassVar[BleAir] = air

        self.backend: type[BaseBleakClient] = SimulatedBleakClient

    def add(self, lock: SimulatedBleLock) -> None:
        """Put a lock in range of this air."""
        self._locks[lock.address] = lock

    def find(self, address: str) -> SimulatedBleLock | None:
        """The lock with this address (case-insensitive)."""
        return self._locks.get(address.upper())


def _gatt() -> BleakGATTServiceCollection:
    services = BleakGATTServiceCollection()

    def characteristic(handle: int, uuid: str, props: list[Any], service: BleakGATTService) -> None:
        char = BleakGATTCharacteristic(None, handle, uuid, props, lambda: MTU - 3, service)
        services.add_characteristic(char)
        if "notify" in props:
            services.add_descriptor(BleakGATTDescriptor(None, handle + 1, CCCD_UUID, char))

    lock = BleakGATTService(None, 1, SERVICE_UUID)
    services.add_service(lock)
    characteristic(2, COMMAND_UUID, ["write"], lock)
    characteristic(4, EVENT_UUID, ["read", "notify"], lock)
    battery = BleakGATTService(None, 6, BATTERY_SERVICE_UUID)
    services.add_service(battery)
    characteristic(7, BATTERY_LEVEL_UUID, ["read", "notify"], battery)
    return services


class _SimulatedLink(BaseBleakClient):
    """The central's side of one connection to a simulated lock (bleak's backend interface)."""

    _air: ClassVar[BleAir]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        kwargs.setdefault("disconnected_callback", None)
        kwargs.setdefault("timeout", 10.0)
        super().__init__(address_or_ble_device, **kwargs)
        self._lock: SimulatedBleLock | None = None
        self._callbacks: dict[str, NotifyCallback] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def name(self) -> str:
        """The advertised name."""
        return self._lock.name if self._lock is not None else self.address

    @property
    def mtu_size(self) -> int:
        """The negotiated MTU."""
        return MTU

    @property
    def is_connected(self) -> bool:
        """True while linked to the lock."""
        return self._lock is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Find the lock in the air, link to it and discover its services."""
        lock = self._air.find(self.address)
        if lock is None:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found")
        lock._attach(self)
        self._loop = asyncio.get_running_loop()
        self._lock = lock
        self.services = _gatt()

    async def disconnect(self) -> None:
        """Drop the link (a solicited disconnect: no callback)."""
        lock, self._lock = self._lock, None
        self._callbacks.clear()
        if lock is not None:
            lock._detach(self)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Simulated locks need no pairing."""

    async def unpair(self) -> None:
        """Simulated locks need no pairing."""

    def _linked(self) -> SimulatedBleLock:
        if self._lock is None:
            raise BleakError("Not connected")
        return self._lock

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic's value."""
        return bytearray(self._linked()._read(characteristic.uuid))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor (only the CCCDs exist)."""
        self._linked()
        enabled = descriptor.characteristic_uuid in self._callbacks
        return bytearray(b"\x01\x00" if enabled else b"\x00\x00")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic (the lock takes commands on one)."""
        self._linked()._write(characteristic.uuid, bytes(memoryview(data)))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        """Descriptors are written through start_notify/stop_notify here."""
        raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications of a characteristic."""
        lock = self._linked()
        if "notify" not in characteristic.properties:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.REQUEST_NOT_SUPPORTED)
        self._callbacks[characteristic.uuid] = callback
        if characteristic.uuid == EVENT_UUID:
            lock._subscribed(self)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications of a characteristic."""
        self._linked()
        self._callbacks.pop(characteristic.uuid, None)

    # ---- called by the lock ----

    def notify(self, uuid: str, data: bytes) -> None:
        """Deliver a notification to the central, later in the loop like a radio would."""
        callback = self._callbacks.get(uuid)
        if callback is not None and self._loop is not None:
            self._loop.call_soon(_deliver, callback, bytearray(data))

    def lose(self) -> None:
        """The link drops without the central asking (out of range, lock reboot)."""
        lock, self._lock = self._lock, None
        self._callbacks.clear()
        if lock is not None:
            lock._detach(self)
        callback: Callable[[], None] | None = self._disconnected_callback
        if callback is not None and self._loop is not None:
            self._loop.call_soon(callback)


def _deliver(callback: NotifyCallback, data: bytearray) -> None:
    try:
        callback(data)
    except Exception:
        logger.exception("ble notification callback failed")
