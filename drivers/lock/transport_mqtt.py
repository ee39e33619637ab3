"""MqttLock: a lock commanded over the shared MqttBus, acknowledged by its state messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..listeners import Listeners
from ..mqtt import MqttBus
from ..mqtt.command import CommandErrors, MqttCommander
from .codec import ErrorReply, LockStatus, command_outcome, decode_state, encode_command, error_outcome
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES, LockOp
from .exceptions import LockReplyError, LockTimeout

logger = logging.getLogger(__name__)

StatusCallback = Callable[[LockStatus], None]

__all__ = ["MqttLock", "StatusCallback", "command_outcome"]

# No broker is a timeout for a lock too (README: locks have no `offline` error).
ERRORS = CommandErrors(
    "lock", offline=LockTimeout, timeout=LockTimeout, retry_on=(LockTimeout, LockReplyError)
)


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
        self._log = {"device_id": device_id}
        self._listeners: Listeners[LockStatus] = Listeners("lock status", self._log)
        self._commands: MqttCommander[LockOp, LockStatus] = MqttCommander(
            bus, device_id, self._on_state, ERRORS, timeout=timeout, tries=tries, backoff=backoff, clock=clock
        )

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, battery, receive time)."""
        return self._commands.heartbeats.last

    def close(self) -> None:
        """Drop this lock's subscriptions (the bus itself stays up)."""
        self._commands.close()

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
        return self._commands.heartbeats.on_heartbeat(callback)

    async def _command(self, op: LockOp) -> LockStatus:
        log_extra = {"op": op.value}
        status = await self._commands.command(
            op, lambda cmd_id: encode_command(cmd_id, op), op=op.value, log_extra=log_extra
        )
        logger.debug(
            "lock command acknowledged", extra={**self._log, **log_extra, "state": status.state.value}
        )
        return status

    # ---- the state subscription (runs in the bus's reader task) ----

    def _on_state(self, payload: bytes) -> None:
        try:
            reply = decode_state(payload)
        except LockReplyError as err:
            logger.warning(
                "lock sent a bad state message", extra={**self._log, "code": err.code, "error": str(err)}
            )
            self._commands.fail_all(LockReplyError, str(err))
            return
        if isinstance(reply, ErrorReply):
            self._commands.settle(reply.cmd_id, error_outcome(reply.error, self.device_id))
            return
        status = reply.status
        self.last_status = status
        self._listeners.emit(status)
        op = self._commands.pending(reply.cmd_id)
        if op is None:
            return
        outcome = command_outcome(op, status)
        if outcome is not None:
            self._commands.settle(reply.cmd_id, outcome)
