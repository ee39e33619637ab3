"""MqttGate: a gate commanded over the shared MqttBus, acknowledged by its state messages."""

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
from .codec import ErrorReply, GateStatus, command_outcome, decode_state, encode_command, error_outcome
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES, GateOp
from .exceptions import GateError, GateOffline, GateReplyError, GateTimeout

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    op: GateOp
    future: asyncio.Future[GateStatus]


class MqttGate:
    """A gate on `gh/dev/<id>/...`: one command at a time, 3 tries of 5 s, read-back by cmd_id."""

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
        self.last_status: GateStatus | None = None
        self._bus = bus
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._cmd_topic = device_topic(device_id, LEAF_CMD)
        self._state_topic = device_topic(device_id, LEAF_STATE)
        self._pending: dict[str, _Pending] = {}
        self._serial = asyncio.Lock()
        self._log = {"device_id": device_id}
        self._listeners: Listeners[GateStatus] = Listeners("gate status", self._log)
        self._heartbeats = HeartbeatWatch(bus, device_id, clock=clock)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._state_topic, self._on_state)

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, receive time)."""
        return self._heartbeats.last

    def on_status(self, callback: Callable[[GateStatus], None]) -> Callable[[], None]:
        """Call `callback(status)` on every state message; returns the unsubscribe."""
        return self._listeners.add(callback)

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        return self._heartbeats.on_heartbeat(callback)

    def close(self) -> None:
        """Drop this gate's subscriptions (the bus itself stays up)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._heartbeats.close()

    async def open(self) -> GateStatus:
        """Release the gate for one passage; returns the acknowledged (open) status."""
        return await self._command(GateOp.OPEN)

    async def status(self) -> GateStatus:
        """Ask the gate for its status."""
        return await self._command(GateOp.STATUS)

    async def _command(self, op: GateOp) -> GateStatus:
        async with self._serial:
            cmd_id = uuid.uuid4().hex
            payload = encode_command(cmd_id, op)
            return await retry(
                lambda: self._try(op, cmd_id, payload),
                tries=self._tries,
                backoff=self._backoff,
                retry_on=(GateTimeout, GateReplyError, GateOffline),
                log_extra={**self._log, "op": op.value, "cmd_id": cmd_id},
            )

    async def _try(self, op: GateOp, cmd_id: str, payload: bytes) -> GateStatus:
        entry = _Pending(op, asyncio.get_running_loop().create_future())
        self._pending[cmd_id] = entry
        try:
            async with asyncio.timeout(self._timeout):
                await self._bus.wait_subscribed(self._state_topic)
                await self._bus.publish(self._cmd_topic, payload, qos=1)
                return await entry.future
        except TimeoutError as err:
            if not self._bus.connected:
                raise GateOffline(f"gate {self.device_id}: no broker connection") from err
            raise GateTimeout(f"gate {self.device_id} did not answer {op.value} in {self._timeout}s") from err
        except MqttError as err:
            raise GateOffline(f"gate {self.device_id} unreachable: {err}") from err
        finally:
            if self._pending.get(cmd_id) is entry:
                del self._pending[cmd_id]

    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            reply = decode_state(payload)
        except GateReplyError as err:
            logger.warning(
                "gate sent a bad state message", extra={**self._log, "code": err.code, "error": str(err)}
            )
            for cmd_id in list(self._pending):
                self._settle(cmd_id, GateReplyError(str(err)))
            return
        if isinstance(reply, ErrorReply):
            self._settle(reply.cmd_id, error_outcome(reply.error, self.device_id))
            return
        self.last_status = reply.status
        self._listeners.emit(reply.status)
        entry = self._pending.get(reply.cmd_id) if reply.cmd_id is not None else None
        if entry is not None:
            self._settle(reply.cmd_id, command_outcome(entry.op, reply.status))

    def _settle(self, cmd_id: str | None, outcome: GateStatus | GateError) -> None:
        entry = self._pending.get(cmd_id) if cmd_id is not None else None
        if entry is None or entry.future.done():
            return
        if isinstance(outcome, GateError):
            entry.future.set_exception(outcome)
        else:
            entry.future.set_result(outcome)
