"""MqttGate: a gate commanded over the shared MqttBus, acknowledged by its state messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from ..mqtt import MqttBus
from ..mqtt.command import CommandErrors, MqttCommander
from .codec import ErrorReply, GateStatus, command_outcome, decode_state, encode_command, error_outcome
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES, GateOp
from .exceptions import GateOffline, GateReplyError, GateTimeout

logger = logging.getLogger(__name__)

ERRORS = CommandErrors(
    "gate", offline=GateOffline, timeout=GateTimeout, retry_on=(GateTimeout, GateReplyError, GateOffline)
)


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
        self._log = {"device_id": device_id}
        self._listeners: Listeners[GateStatus] = Listeners("gate status", self._log)
        self._commands: MqttCommander[GateOp, GateStatus] = MqttCommander(
            bus, device_id, self._on_state, ERRORS, timeout=timeout, tries=tries, backoff=backoff, clock=clock
        )

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, receive time)."""
        return self._commands.heartbeats.last

    def on_status(self, callback: Callable[[GateStatus], None]) -> Callable[[], None]:
        """Call `callback(status)` on every state message; returns the unsubscribe."""
        return self._listeners.add(callback)

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        return self._commands.heartbeats.on_heartbeat(callback)

    def close(self) -> None:
        """Drop this gate's subscriptions (the bus itself stays up)."""
        self._commands.close()

    async def open(self) -> GateStatus:
        """Release the gate for one passage; returns the acknowledged (open) status."""
        return await self._command(GateOp.OPEN)

    async def status(self) -> GateStatus:
        """Ask the gate for its status."""
        return await self._command(GateOp.STATUS)

    async def _command(self, op: GateOp) -> GateStatus:
        return await self._commands.command(
            op, lambda cmd_id: encode_command(cmd_id, op), op=op.value, log_extra={"op": op.value}
        )

    def _on_state(self, payload: bytes) -> None:
        try:
            reply = decode_state(payload)
        except GateReplyError as err:
            logger.warning(
                "gate sent a bad state message", extra={**self._log, "code": err.code, "error": str(err)}
            )
            self._commands.fail_all(GateReplyError, str(err))
            return
        if isinstance(reply, ErrorReply):
            self._commands.settle(reply.cmd_id, error_outcome(reply.error, self.device_id))
            return
        self.last_status = reply.status
        self._listeners.emit(reply.status)
        op = self._commands.pending(reply.cmd_id)
        if op is not None:
            self._commands.settle(reply.cmd_id, command_outcome(op, reply.status))
