"""BleLock: a battery door lock on BLE GATT, driven through bleak's BleakClient (any backend)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.service import BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from ..retry import Backoff, retry
from .codec import (
    BleError,
    BleState,
    LockStatus,
    command_outcome,
    decode_ble_frame,
    encode_ble_command,
    error_outcome,
)
from .const import (
    BLE_CONNECT_TIMEOUT_S,
    BLE_LOCK_GATT,
    BLE_RECONNECT_MAX_S,
    BLE_RECONNECT_MIN_S,
    DEFAULT_BACKOFF_S,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TRIES,
    SEQ_MAX,
    SEQ_SPONTANEOUS,
    GattLayout,
    LockOp,
)
from .exceptions import LockError, LockReplyError, LockTimeout

logger = logging.getLogger(__name__)

# What bleak and its backends raise when the link or the peer fails (BlueZ: FileNotFoundError, EOFError).
LINK_ERRORS = (BleakError, OSError, EOFError, TimeoutError)


@dataclass(slots=True)
class _Pending:
    op: LockOp
    future: asyncio.Future[LockStatus]


def check_layout(services: BleakGATTServiceCollection, layout: GattLayout) -> None:
    """Refuse a peripheral that lacks the lock service or its characteristics (a wrong device)."""
    if services.get_service(layout.service) is None:
        raise LockReplyError(f"no lock service {layout.service}")
    for uuid in (layout.command, layout.event):
        if services.get_characteristic(uuid) is None:
            raise LockReplyError(f"no characteristic {uuid}")


class BleLock:
    """A BLE lock: holds one GATT connection (reconnecting forever), commands by write, answers by notify.

    `async with BleLock(...)` starts the connect loop and returns at once. `backend` is bleak's
    backend hook (`BleakClient(..., backend=...)`): None picks the platform's (BlueZ on Linux).
    """

    def __init__(
        self,
        device_id: str,
        address: str,
        *,
        backend: type[BaseBleakClient] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        connect_timeout: float = BLE_CONNECT_TIMEOUT_S,
        reconnect_min: float = BLE_RECONNECT_MIN_S,
        reconnect_max: float = BLE_RECONNECT_MAX_S,
        clock: Clock = time.time,
    ) -> None:
        self.device_id = device_id
        self.address = address
        self.last_status: LockStatus | None = None
        self.last_heartbeat: Heartbeat | None = None
        self.connects = 0
        self.rejected = 0
        self._backend = backend
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._connect_timeout = connect_timeout
        self._reconnect = Backoff(reconnect_min, reconnect_max)
        self._clock = clock
        self._client: BleakClient | None = None
        self._link_up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[int, _Pending] = {}
        self._seq = random.randint(1, SEQ_MAX)
        self._serial = asyncio.Lock()
        self._log = {"device_id": device_id, "address": address}
        self._status_listeners: Listeners[LockStatus] = Listeners("lock status", self._log)
        self._heartbeat_listeners: Listeners[Heartbeat] = Listeners("heartbeat", self._log)

    # ---- lifetime ----

    async def __aenter__(self) -> Self:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"ble-lock {self.device_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def connected(self) -> bool:
        """True while the GATT link is up with notifications enabled."""
        return self._link_up.is_set()

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 (the interface's shape)
        """Wait for the link; LockTimeout after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._link_up.wait()
        except TimeoutError as err:
            raise LockTimeout(f"lock {self.device_id}: no BLE link within {timeout}s") from err

    # ---- the Lock interface ----

    async def unlock(self) -> LockStatus:
        """Unlock; returns the acknowledged UNLOCKED (or OPEN) status or raises a LockError."""
        return await self._command(LockOp.UNLOCK)

    async def lock(self) -> LockStatus:
        """Lock; returns the acknowledged LOCKED status or raises a LockError."""
        return await self._command(LockOp.LOCK)

    async def status(self) -> LockStatus:
        """Ask the lock for its status (a round trip; `last_status` is the no-I/O read)."""
        return await self._command(LockOp.STATUS)

    def on_status(self, callback: Callable[[LockStatus], None]) -> Callable[[], None]:
        """Call `callback(status)` on every state notification; returns the unsubscribe."""
        return self._status_listeners.add(callback)

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat notification; returns the unsubscribe."""
        return self._heartbeat_listeners.add(callback)

    # ---- commands ----

    def _next_seq(self) -> int:
        self._seq = self._seq % SEQ_MAX + 1  # 1..65535; 0 marks spontaneous reports
        return self._seq

    async def _command(self, op: LockOp) -> LockStatus:
        async with self._serial:
            # One sequence number for every try: a late answer to an earlier try still acknowledges it.
            seq = self._next_seq()
            frame = encode_ble_command(seq, op)
            log_extra = {**self._log, "op": op.value, "seq": seq}
            status = await retry(
                lambda: self._try(op, seq, frame),
                tries=self._tries,
                backoff=self._backoff,
                retry_on=(LockTimeout, LockReplyError),
                log_extra=log_extra,
            )
            logger.debug("lock command acknowledged", extra={**log_extra, "state": status.state.value})
            return status

    async def _try(self, op: LockOp, seq: int, frame: bytes) -> LockStatus:
        future: asyncio.Future[LockStatus] = asyncio.get_running_loop().create_future()
        entry = _Pending(op, future)
        self._pending[seq] = entry
        try:
            async with asyncio.timeout(self._timeout):
                client = await self._linked_client()
                await client.write_gatt_char(BLE_LOCK_GATT.command, frame, response=True)
                return await future
        except TimeoutError as err:
            if not self.connected:
                raise LockTimeout(f"lock {self.device_id}: no BLE link") from err
            raise LockTimeout(f"lock {self.device_id} did not answer {op.value} in {self._timeout}s") from err
        except BleakGATTProtocolError as err:
            raise LockReplyError(f"lock {self.device_id} refused the write: {err}") from err
        except LINK_ERRORS as err:
            raise LockTimeout(f"lock {self.device_id} unreachable: {err!r}") from err
        finally:
            if self._pending.get(seq) is entry:
                del self._pending[seq]

    async def _linked_client(self) -> BleakClient:
        await self._link_up.wait()
        client = self._client
        if client is None:  # the link flag and the client change together; never both apart
            raise LockTimeout(f"lock {self.device_id}: BLE link lost")
        return client

    # ---- the link ----

    async def _run(self) -> None:
        failures = 0
        while True:
            connects = self.connects
            try:
                await self._session()
                logger.warning("ble lock disconnected", extra=self._log)
            except (*LINK_ERRORS, LockReplyError) as err:
                failures = 0 if self.connects != connects else failures + 1
                # Say it once per outage, not once per attempt.
                logger.log(
                    logging.WARNING if failures <= 1 else logging.DEBUG,
                    "ble lock connection failed",
                    extra={**self._log, "error": repr(err), "attempt": failures},
                )
            except Exception:
                logger.exception("ble lock session crashed", extra=self._log)
            await asyncio.sleep(self._reconnect.next())

    async def _session(self) -> None:
        lost = asyncio.Event()
        client = BleakClient(
            self.address,
            disconnected_callback=lambda _client: lost.set(),
            timeout=self._connect_timeout,
            backend=self._backend,
        )
        try:
            async with asyncio.timeout(self._connect_timeout):
                await client.connect()
                check_layout(client.services, BLE_LOCK_GATT)
                await client.start_notify(BLE_LOCK_GATT.event, self._on_notify)
            self._reconnect.reset()
            self._client = client
            self.connects += 1
            self._link_up.set()
            logger.info("ble lock connected", extra=self._log)
            await lost.wait()
        finally:
            self._link_up.clear()
            self._client = None
            with contextlib.suppress(*LINK_ERRORS):
                async with asyncio.timeout(self._connect_timeout):
                    await client.disconnect()

    # ---- notifications (called by bleak in the event loop) ----

    def _on_notify(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            frame = decode_ble_frame(bytes(data), received_at=self._clock())
        except LockReplyError as err:
            self.rejected += 1
            logger.warning("lock sent a bad frame", extra={**self._log, "code": err.code, "error": str(err)})
            # A corrupt frame names no command reliably: it answers whatever the lock is waiting for.
            for seq in list(self._pending):
                self._settle(seq, LockReplyError(str(err)))
            return
        if isinstance(frame, Heartbeat):
            self.last_heartbeat = frame
            self._heartbeat_listeners.emit(frame)
        elif isinstance(frame, BleError):
            self._settle(frame.seq, error_outcome(frame.error, self.device_id))
        else:
            self._on_state(frame)

    def _on_state(self, frame: BleState) -> None:
        self.last_status = frame.status
        self._status_listeners.emit(frame.status)
        if frame.seq == SEQ_SPONTANEOUS:
            return
        entry = self._pending.get(frame.seq)
        if entry is None:
            return
        outcome = command_outcome(entry.op, frame.status)
        if outcome is not None:
            self._settle(frame.seq, outcome)

    def _settle(self, seq: int, outcome: LockStatus | LockError) -> None:
        entry = self._pending.get(seq)
        if entry is None or entry.future.done():
            return
        if isinstance(outcome, LockError):
            entry.future.set_exception(outcome)
        else:
            entry.future.set_result(outcome)
