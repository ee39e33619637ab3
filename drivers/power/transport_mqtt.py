"""MqttPowerSwitch: a relay board commanded over the shared MqttBus, acknowledged by its state messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..heartbeat import Clock, Heartbeat, HeartbeatCallback
from ..mqtt import MqttBus
from ..mqtt.command import CommandErrors, MqttCommander
from .codec import ErrorReply, SwitchState, check_channel, decode_state, encode_set, encode_status
from .const import DEFAULT_BACKOFF_S, DEFAULT_TIMEOUT_S, DEFAULT_TRIES
from .exceptions import PowerError, PowerOffline, PowerReplyError, PowerTimeout

logger = logging.getLogger(__name__)

ERRORS = CommandErrors("switch", offline=PowerOffline, timeout=PowerTimeout, retry_on=(PowerError,))

# What a state message is judged by: the command's channel, and the value a `set` must read back
# (None for `status`).
_Expect = tuple[int, bool | None]


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
        self._log = {"device_id": device_id}
        self._commands: MqttCommander[_Expect, bool] = MqttCommander(
            bus, device_id, self._on_state, ERRORS, timeout=timeout, tries=tries, backoff=backoff, clock=clock
        )

    @property
    def last_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat (device ts, receive time; battery None: mains)."""
        return self._commands.heartbeats.last

    def on_heartbeat(self, callback: HeartbeatCallback) -> Callable[[], None]:
        """Call `callback(heartbeat)` on every heartbeat; returns the unsubscribe."""
        return self._commands.heartbeats.on_heartbeat(callback)

    def close(self) -> None:
        """Drop this switch's subscriptions (the bus itself stays up)."""
        self._commands.close()

    async def set(self, on: bool, channel: int = 0) -> bool:
        """Switch a channel; returns the value the switch reports afterwards."""
        check_channel(channel, self.channels)
        return await self._command(channel, on)

    async def state(self, channel: int = 0) -> bool:
        """Ask the switch for a channel's value."""
        check_channel(channel, self.channels)
        return await self._command(channel, None)

    async def _command(self, channel: int, on: bool | None) -> bool:
        return await self._commands.command(
            (channel, on),
            lambda cmd_id: encode_status(cmd_id) if on is None else encode_set(cmd_id, channel, on),
            op=None,
            log_extra={"channel": channel, "on": on},
        )

    def _on_state(self, payload: bytes) -> None:
        try:
            reply = decode_state(payload)
        except PowerReplyError as err:
            logger.warning("switch sent a bad state message", extra={**self._log, "error": str(err)})
            self._commands.fail_all(PowerReplyError, str(err))
            return
        if isinstance(reply, ErrorReply):
            self._commands.settle(
                reply.cmd_id, PowerReplyError(f"switch {self.device_id} refused: {reply.error}")
            )
            return
        self.last_channels = reply.channels
        expect = self._commands.pending(reply.cmd_id)
        if expect is not None:
            self._commands.settle(reply.cmd_id, read_back(*expect, reply))
