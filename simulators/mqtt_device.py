"""The common part of simulated MQTT devices: connection, reconnects, heartbeats, commands, faults.

Written against the wire protocol (topics `gh/dev/<id>/...`, JSON payloads), never against the
drivers: a simulator that shared the driver's codec could not catch the driver's bugs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import aiomqtt

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

NODELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
RECONNECT_MIN_S = 0.02
RECONNECT_MAX_S = 0.5
DEFAULT_WAIT_S = 5.0
GARBAGE = b"\xff{ this is not json"


def dumps(obj: dict[str, Any]) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(obj, separators=(",", ":")).encode()


class SimulatedMqttDevice:
    """Base class: connects to the broker, takes commands from `cmd`, publishes on its own topics.

    Fault injection: `drop_commands` (ignore commands), `delay_s` (answer late), `garbage`
    (answer with invalid JSON), `refuse_with` (answer with that error code), `go_offline()` /
    `come_online()` (leave and rejoin the broker).
    Every command received, even a dropped one, is appended to `commands`.
    """

    listens_for_commands = True

    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        *,
        heartbeat_s: float = 30.0,
        battery: int | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self.device_id = device_id
        self.heartbeat_s = heartbeat_s
        self.battery = battery
        self.clock = clock
        self.drop_commands = False
        self.delay_s = 0.0
        self.garbage = False
        self.refuse_with: str | None = None
        self.commands: list[dict[str, Any]] = []
        self.connects = 0
        self._client: aiomqtt.Client | None = None
        self._online = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._log = {"device_id": device_id}

    def topic(self, leaf: str) -> str:
        """This device's topic for `leaf` (cmd, state, heartbeat, scan)."""
        return f"gh/dev/{self.device_id}/{leaf}"

    # ---- lifetime ----

    async def __aenter__(self) -> Self:
        await self.come_online()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.go_offline()
        await self._shutdown()

    @property
    def offline(self) -> bool:
        """True while not connected to the broker."""
        return not self._online.is_set()

    async def come_online(self, timeout: float = DEFAULT_WAIT_S) -> None:  # noqa: ASYNC109
        """Join the broker (and keep rejoining it); return once connected."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sim {self.device_id}")
        await self.wait_online(timeout)

    async def go_offline(self) -> None:
        """Disconnect from the broker and stay away until `come_online()`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_online(self, timeout: float = DEFAULT_WAIT_S) -> None:  # noqa: ASYNC109
        """Wait until connected (e.g. after the broker restarted)."""
        async with asyncio.timeout(timeout):
            await self._online.wait()

    async def _shutdown(self) -> None:
        """Hook: stop a subclass's own background work."""

    # ---- broker connection ----

    async def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=f"sim-{self.device_id}",
                    socket_options=NODELAY,
                ) as client:
                    self._client = client
                    delay = RECONNECT_MIN_S
                    await self._serve(client)
            except aiomqtt.MqttError as err:
                logger.debug("simulated device lost the broker", extra={**self._log, "error": str(err)})
            finally:
                self._client = None
                self._online.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _serve(self, client: aiomqtt.Client) -> None:
        cmd_topic = self.topic("cmd")
        if self.listens_for_commands:
            await client.subscribe(cmd_topic, qos=1)
        await self._on_connect()
        self.connects += 1
        self._online.set()
        heartbeat = asyncio.create_task(self._heartbeats(), name=f"sim heartbeat {self.device_id}")
        try:
            async for message in client.messages:
                # amqtt may deliver other clients' retained messages: keep to our own topic.
                if message.topic.matches(cmd_topic) and isinstance(message.payload, bytes | bytearray):
                    await self._intake(bytes(message.payload))
        finally:
            heartbeat.cancel()

    async def _heartbeats(self) -> None:
        while True:
            await self.publish("heartbeat", dumps({"ts": self.clock(), "battery": self.battery}), qos=0)
            await asyncio.sleep(self.heartbeat_s)

    async def publish(self, leaf: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Publish on one of this device's topics; False (nothing sent) while offline."""
        client = self._client
        if client is None:
            return False
        try:
            await client.publish(self.topic(leaf), payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            logger.debug("simulated device could not publish", extra={**self._log, "error": str(err)})
            return False
        return True

    async def publish_pipelined(self, leaf: str, payloads: list[bytes], *, retain: bool = False) -> None:
        """Publish several QoS 1 messages back to back, in order, then wait for all acknowledgements.

        A real device does not wait for the broker's PUBACK of "unlocking" before reporting
        "unlocked"; waiting would add a round trip to every command the edge times.
        """
        tasks = [asyncio.create_task(self.publish(leaf, payload, retain=retain)) for payload in payloads]
        await asyncio.gather(*tasks)

    async def publish_error(self, code: str, cmd_id: str | None) -> None:
        """An error reply on the state topic (never retained)."""
        await self.publish("state", dumps({"error": code, "cmd_id": cmd_id}))

    # ---- commands ----

    async def _intake(self, raw: bytes) -> None:
        try:
            cmd = json.loads(raw)
        except ValueError:
            cmd = None
        if not isinstance(cmd, dict):
            await self.publish_error("bad_request", None)
            return
        self.commands.append(cmd)
        if self.drop_commands:
            return
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        cmd_id = cmd.get("id")
        if not isinstance(cmd_id, str):
            await self.publish_error("bad_request", None)
            return
        if self.garbage:
            await self.publish("state", GARBAGE)
            return
        if self.refuse_with is not None:
            await self.publish_error(self.refuse_with, cmd_id)
            return
        await self._handle(cmd, cmd_id)

    async def _on_connect(self) -> None:
        """Hook: publish the retained state a device announces on every connection."""

    async def _handle(self, cmd: dict[str, Any], cmd_id: str) -> None:
        """Hook: answer one command."""
        await self.publish_error("unknown_op", cmd_id)
