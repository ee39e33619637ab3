"""MqttCommander: the command-and-acknowledge round trip every commanded MQTT device shares."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..heartbeat import Clock
from ..retry import retry
from .client import MqttBus
from .codec import device_topic
from .const import LEAF_CMD, LEAF_STATE
from .exceptions import MqttError
from .heartbeat import HeartbeatWatch

K = TypeVar("K")  # what the device driver needs to judge a state message (an op, a channel and value)
R = TypeVar("R")  # the acknowledged result


@dataclass(frozen=True, slots=True)
class CommandErrors:
    """The device driver's own errors for a round trip that fails, and which of its errors are retried."""

    noun: str  # "lock", "switch", "gate": names the device in messages
    offline: type[Exception]  # no broker connection, or the bus refused the publish
    timeout: type[Exception]  # no acknowledgement in time
    retry_on: tuple[type[Exception], ...]


@dataclass(slots=True)
class _Pending(Generic[K, R]):
    key: K
    future: asyncio.Future[R]


class MqttCommander(Generic[K, R]):
    """One device's `gh/dev/<id>/cmd` -> `state` round trips: one at a time, retried, matched by cmd_id."""

    # The driver decodes its state messages (`on_state` gets every payload) and answers the command in
    # flight with `settle`: decoding is device-specific, the round trip around it is not.

    def __init__(
        self,
        bus: MqttBus,
        device_id: str,
        on_state: Callable[[bytes], None],
        errors: CommandErrors,
        *,
        timeout: float,
        tries: int,
        backoff: float,
        clock: Clock = time.time,
    ) -> None:
        self.device_id = device_id
        self.heartbeats = HeartbeatWatch(bus, device_id, clock=clock)
        self._bus = bus
        self._errors = errors
        self._timeout = timeout
        self._tries = tries
        self._backoff = backoff
        self._cmd_topic = device_topic(device_id, LEAF_CMD)
        self._state_topic = device_topic(device_id, LEAF_STATE)
        self._pending: dict[str, _Pending[K, R]] = {}
        self._serial = asyncio.Lock()
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(
            self._state_topic, lambda _topic, payload: on_state(payload)
        )

    def close(self) -> None:
        """Drop the state and heartbeat subscriptions (the bus itself stays up)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.heartbeats.close()

    async def command(
        self, key: K, encode: Callable[[str], bytes], *, op: str | None, log_extra: Mapping[str, object]
    ) -> R:
        """Publish `encode(cmd_id)` and wait for its acknowledgement; `op` names it in timeout messages."""
        async with self._serial:
            # One id for every try: a late answer to an earlier try still acknowledges the command.
            cmd_id = uuid.uuid4().hex
            payload = encode(cmd_id)
            return await retry(
                lambda: self._try(key, cmd_id, payload, op),
                tries=self._tries,
                backoff=self._backoff,
                retry_on=self._errors.retry_on,
                log_extra={"device_id": self.device_id, **log_extra, "cmd_id": cmd_id},
            )

    def pending(self, cmd_id: str | None) -> K | None:
        """The key of the command in flight under `cmd_id`, if any."""
        entry = self._pending.get(cmd_id) if cmd_id is not None else None
        return None if entry is None else entry.key

    def settle(self, cmd_id: str | None, outcome: R | Exception) -> None:
        """Answer the command in flight under `cmd_id` (an exception fails that try)."""
        entry = self._pending.get(cmd_id) if cmd_id is not None else None
        if entry is None or entry.future.done():
            return
        if isinstance(outcome, Exception):
            entry.future.set_exception(outcome)
        else:
            entry.future.set_result(outcome)

    def fail_all(self, error: type[Exception], message: str) -> None:
        """Fail every command in flight with `error(message)`: garbage names no command."""
        for cmd_id in list(self._pending):
            self.settle(cmd_id, error(message))

    async def _try(self, key: K, cmd_id: str, payload: bytes, op: str | None) -> R:
        entry: _Pending[K, R] = _Pending(key, asyncio.get_running_loop().create_future())
        self._pending[cmd_id] = entry
        errors, name = self._errors, f"{self._errors.noun} {self.device_id}"
        try:
            async with asyncio.timeout(self._timeout):
                await self._bus.wait_subscribed(self._state_topic)
                await self._bus.publish(self._cmd_topic, payload, qos=1)
                return await entry.future
        except TimeoutError as err:
            if not self._bus.connected:
                raise errors.offline(f"{name}: no broker connection") from err
            answered = f"{op} " if op is not None else ""
            raise errors.timeout(f"{name} did not answer {answered}in {self._timeout}s") from err
        except MqttError as err:
            raise errors.offline(f"{name} unreachable: {err}") from err
        finally:
            if self._pending.get(cmd_id) is entry:
                del self._pending[cmd_id]
