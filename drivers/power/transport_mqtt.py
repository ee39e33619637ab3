"""MqttPowerSwitch: a relay board commanded over the shared MqttBus, acknowledged by its state messages."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..mqtt import HeartbeatWatch, MqttBus, MqttError, device_topic
from ..mqtt.const import LEAF_CMD, LEAF_STATE
from ..retry import retry
from .codec import ErrorReply, SwitchState, check_channel, decode_state, encode_set, encode_status
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES
from .exceptions import PowerError, PowerOffline, PowerReplyError, PowerTimeout

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    channel: int
    expect: bool | None  # the value a `set` must read back; None for `status`
    future: asyncio.Future[bool]


def read_back(channel: int, expect: bool | None, state: SwitchState) -> bool | PowerError:
    """The value a state message reports for the command's channel, or why it does not answer it."""
    if channel >= len(state.channels):
        return PowerReplyError(f"state has {len(state.channels)} channels, no channel {channel}")
    value = state.channels[channel]
    if expect is not None and value != expect:
        return PowerReplyError(f"channel {channel} read back {value} after setting {expect}")
    return value


class MqttPowerSwitch:
    """A switch on `gh/dev/<id>/...`: one command at a time, 3 tries of 5 s, read-back by cmd_id."""

    def __init__(
        self,
        bus: MqttBus,
        device_id: str,
        *,
        channels: int = 1,
        timeout: float = DEFAULT_TIMEOUT_S,
        tries: int = DEFAULT_TRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        clock: Clock = time.time,
    ) -> None:
        if channels < 1:
            raise ValueError("a switch has at least one channel")
        self.device_id = device_id
        self.channels = channels
        # The last channels the switch reported (read paths do no I/O).
        self.last_channels: tuple[bool, ...] | None = None
        self._bus = bus
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._cmd_topic = device_topic(device_id, LEAF_CMD)
        self._state_topic = device_topic(device_id, LEAF_STATE)
        self._pending: dict[str, _Pending] = {}
        self._serial = asyncio.Lock()
        self._log = {"device_id": device_id}
        self._heartbeats = HeartbeatWatch(bus, device_id, clock=clock)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._state_topic, self._on_state)

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, receive time; battery None: mains)."""
        return self._heartbeats.last

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        return self._heartbeats.on_heartbeat(callback)

    def close(self) -> None:
        """Drop this switch's subscriptions (the bus itself stays up)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._heartbeats.close()

    async def set(self, on: bool, channel: int = 0) -> bool:
        """Switch a channel; returns the value the switch reports afterwards."""
        check_channel(channel, self.channels)
        return await self._command(channel, on)

    async def state(self, channel: int = 0) -> bool:
        """Ask the switch for a channel's value."""
        check_channel(channel, self.channels)
        return await self._command(channel, None)

    async def _command(self, channel: int, on: bool | None) -> bool:
        async with self._serial:
            cmd_id = uuid.uuid4().hex
            payload = encode_status(cmd_id) if on is None else encode_set(cmd_id, channel, on)
            return await retry(
                lambda: self._try(cmd_id, payload, _Pending(channel, on, self._new_future())),
                tries=self._tries,
                backoff=self._backoff,
                retry_on=(PowerError,),
                log_extra={"device_id": self.device_id, "cmd_id": cmd_id, "channel": channel, "on": on},
            )

    @staticmethod
    def _new_future() -> asyncio.Future[bool]:
        return asyncio.get_running_loop().create_future()

    async def _try(self, cmd_id: str, payload: bytes, entry: _Pending) -> bool:
        self._pending[cmd_id] = entry
        try:
            async with asyncio.timeout(self._timeout):
                await self._bus.wait_subscribed(self._state_topic)
                await self._bus.publish(self._cmd_topic, payload, qos=1)
                return await entry.future
        except TimeoutError as err:
            if not self._bus.connected:
                raise PowerOffline(f"switch {self.device_id}: no broker connection") from err
            raise PowerTimeout(f"switch {self.device_id} did not answer in {self._timeout}s") from err
        except MqttError as err:
            raise PowerOffline(f"switch {self.device_id} unreachable: {err}") from err
        finally:
            if self._pending.get(cmd_id) is entry:
                del self._pending[cmd_id]

    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            reply = decode_state(payload)
        except PowerReplyError as err:
            logger.warning("switch sent a bad state message", extra={**self._log, "error": str(err)})
            for cmd_id in list(self._pending):
                self._settle(cmd_id, PowerReplyError(str(err)))
            return
        if isinstance(reply, ErrorReply):
            self._settle(reply.cmd_id, PowerReplyError(f"switch {self.device_id} refused: {reply.error}"))
            return
        self.last_channels = reply.channels
        entry = self._pending.get(reply.cmd_id) if reply.cmd_id is not None else None
        if entry is not None:
            self._settle(reply.cmd_id, read_back(entry.channel, entry.expect, reply))

    def _settle(self, cmd_id: str | None, outcome: bool | PowerError) -> None:
        entry = self._pending.get(cmd_id) if cmd_id is not None else None
        if entry is None or entry.future.done():
            return
        if isinstance(outcome, PowerError):
            entry.future.set_exception(outcome)
        else:
            entry.future.set_result(outcome)
