"""MqttLock: a lock commanded over the shared MqttBus, acknowledged by its state messages."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from ..mqtt import HeartbeatWatch, MqttBus, MqttError, device_topic
from ..mqtt.const import LEAF_CMD, LEAF_STATE
from ..retry import retry
from .codec import ErrorReply, LockStatus, command_outcome, decode_state, encode_command, error_outcome
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES, LockOp
from .exceptions import LockError, LockReplyError, LockTimeout

logger = logging.getLogger(__name__)

StatusCallback = Callable[[LockStatus], None]

__all__ = ["MqttLock", "StatusCallback", "command_outcome"]


@dataclass(slots=True)
class _Pending:
    op: LockOp
    future: asyncio.Future[LockStatus]


class MqttLock:
    """A lock on `gh/dev/<id>/...`: one command at a time, 3 tries of 5 s, read-back by cmd_id."""

    def __init__(
        self,
        bus: MqttBus,
        device_id: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        clock: Clock = time.time,
    ) -> None:
        self.device_id = device_id
        self.last_status: LockStatus | None = None
        self._bus = bus
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._cmd_topic = device_topic(device_id, LEAF_CMD)
        self._state_topic = device_topic(device_id, LEAF_STATE)
        self._pending: dict[str, _Pending] = {}
        self._log = {"device_id": device_id}
        self._listeners: Listeners[LockStatus] = Listeners("lock status", self._log)
        self._serial = asyncio.Lock()
        self._heartbeats = HeartbeatWatch(bus, device_id, clock=clock)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._state_topic, self._on_state)

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, battery, receive time)."""
        return self._heartbeats.last

    def close(self) -> None:
        """Drop this lock's subscriptions (the bus itself stays up)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._heartbeats.close()

    async def unlock(self) -> LockStatus:
        """Unlock; returns the acknowledged UNLOCKED (or OPEN) status or raises a LockError."""
        return await self._command(LockOp.UNLOCK)

    async def lock(self) -> LockStatus:
        """Lock; returns the acknowledged LOCKED status or raises a LockError."""
        return await self._command(LockOp.LOCK)

    async def status(self) -> LockStatus:
        """Ask the lock for its status (a round trip; `last_status` is the no-I/O read)."""
        return await self._command(LockOp.STATUS)

    def on_status(self, callback: StatusCallback) -> Callable[[], None]:
        """Call `callback(status)` on every state message; returns the unsubscribe."""
        return self._listeners.add(callback)

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        return self._heartbeats.on_heartbeat(callback)

    # ---- commands ----

    async def _command(self, op: LockOp) -> LockStatus:
        async with self._serial:
            # One id for every try: a late answer to an earlier try still acknowledges the command.
            cmd_id = uuid.uuid4().hex
            payload = encode_command(cmd_id, op)
            log_extra = {"device_id": self.device_id, "op": op.value, "cmd_id": cmd_id}
            status = await retry(
                lambda: self._try(op, cmd_id, payload),
                tries=self._tries,
                backoff=self._backoff,
                retry_on=(LockTimeout, LockReplyError),
                log_extra=log_extra,
            )
            logger.debug("lock command acknowledged", extra={**log_extra, "state": status.state.value})
            return status

    async def _try(self, op: LockOp, cmd_id: str, payload: bytes) -> LockStatus:
        future: asyncio.Future[LockStatus] = asyncio.get_running_loop().create_future()
        entry = _Pending(op, future)
        self._pending[cmd_id] = entry
        try:
            async with asyncio.timeout(self._timeout):
                await self._bus.wait_subscribed(self._state_topic)
                await self._bus.publish(self._cmd_topic, payload, qos=1)
                return await future
        except TimeoutError as err:
            if not self._bus.connected:
                raise LockTimeout(f"lock {self.device_id}: no broker connection") from err
            raise LockTimeout(f"lock {self.device_id} did not answer {op.value} in {self._timeout}s") from err
        except MqttError as err:
            raise LockTimeout(f"lock {self.device_id} unreachable: {err}") from err
        finally:
            if self._pending.get(cmd_id) is entry:
                del self._pending[cmd_id]

    # ---- subscription callbacks (run in the bus's reader task) ----

    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            reply = decode_state(payload)
        except LockReplyError as err:
            logger.warning(
                "lock sent a bad state message", extra={**self._log, "code": err.code, "error": str(err)}
            )
            # Garbage names no command: it answers whatever this lock is waiting for.
            for cmd_id in list(self._pending):
                self._settle(cmd_id, LockReplyError(str(err)))
            return
        if isinstance(reply, ErrorReply):
            self._settle(reply.cmd_id, error_outcome(reply.error, self.device_id))
            return
        status = reply.status
        self.last_status = status
        self._listeners.emit(status)
        if reply.cmd_id is None:
            return
        entry = self._pending.get(reply.cmd_id)
        if entry is None:
            return
        outcome = command_outcome(entry.op, status)
        if outcome is not None:
            self._settle(reply.cmd_id, outcome)

    def _settle(self, cmd_id: str | None, outcome: LockStatus | LockError) -> None:
        entry = self._pending.get(cmd_id) if cmd_id is not None else None
        if entry is None or entry.future.done():
            return
        if isinstance(outcome, LockError):
            entry.future.set_exception(outcome)
        else:
            entry.future.set_result(outcome)
