"""MqttBus: one broker connection shared by every MQTT device driver of a process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiomqtt

from ..retry import Backoff
from .codec import broker_filters, covers
from .const import (
    KEEPALIVE_S,
    OPERATION_TIMEOUT_S,
    PENDING_PUBLISH_WARNING,
    RECONNECT_MAX_S,
    RECONNECT_MIN_S,
    SOCKET_OPTIONS,
    SUBSCRIBE_QOS,
)
from .exceptions import MqttNotConnected, MqttPublishError

logger = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes], None]


@dataclass(eq=False, slots=True)
class _Subscription:
    topic_filter: str
    callback: MessageCallback


def _is_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


class MqttBus:
    """Async context manager owning one aiomqtt client, its reader task and its reconnects.

    `async with MqttBus(host, port)` starts the connect loop and returns at once; use
    `wait_connected()` to wait for the broker. Subscriptions are plain callbacks run in the reader
    task; they survive reconnects (every filter is subscribed again on each new connection).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        keepalive: int = KEEPALIVE_S,
        reconnect_min: float = RECONNECT_MIN_S,
        reconnect_max: float = RECONNECT_MAX_S,
    ) -> None:
        self.host = host
        self.port = port
        self._client_id = client_id
        self._keepalive = keepalive
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self._subs: dict[str, list[_Subscription]] = {}
        self._wildcards: set[str] = set()
        # Set while the broker has acknowledged the filter on the current connection.
        self._acked: dict[str, asyncio.Event] = {}
        # The filters subscribed at the broker on the current connection: none covers another.
        self._at_broker: set[str] = set()
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.connects = 0

    # ---- lifetime ----

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("MqttBus is already running")
        self._task = asyncio.create_task(self._run(), name=f"mqtt-bus {self.host}:{self.port}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tasks = [t for t in (self._task, *self._side_tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    @property
    def connected(self) -> bool:
        """True while connected to the broker (filters added since may not be acknowledged yet)."""
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 (the interface's shape)
        """Wait until `connected`; raise MqttNotConnected after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError as err:
            where = f"{self.host}:{self.port}"
            raise MqttNotConnected(f"no broker connection to {where} within {timeout}s") from err

    async def wait_settled(self, timeout: float) -> None:  # noqa: ASYNC109 (the interface's shape)
        """Wait until connected with every registered filter acknowledged by the broker.

        A filter registered while connected is subscribed in the background: until its SUBACK a
        message published to it is not delivered here. Raise MqttNotConnected after `timeout` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._connected.wait()
                    pending = [event for event in self._acked.values() if not event.is_set()]
                    if not pending:
                        return
                    await asyncio.gather(*(event.wait() for event in pending))
        except TimeoutError as err:
            where = f"{self.host}:{self.port}"
            raise MqttNotConnected(f"subscriptions at {where} not acknowledged within {timeout}s") from err

    # ---- publish / subscribe ----

    async def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Publish and, for QoS 1, wait for the broker's acknowledgement."""
        client = self._client
        if client is None or not self._connected.is_set():
            raise MqttNotConnected(f"not connected to {self.host}:{self.port}")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            raise MqttPublishError(f"publish to {topic} failed: {err}") from err

    def subscribe(self, topic_filter: str, callback: MessageCallback) -> Callable[[], None]:
        """Call `callback(topic, payload)` for every message matching the filter; returns the unsubscribe."""
        aiomqtt.Wildcard(topic_filter)  # validates the filter (ValueError)
        sub = _Subscription(topic_filter, callback)
        self._subs.setdefault(topic_filter, []).append(sub)
        self._acked.setdefault(topic_filter, asyncio.Event())
        if _is_wildcard(topic_filter):
            self._wildcards.add(topic_filter)
        client = self._client
        if client is not None:
            self._sync(client, refresh=topic_filter)

        def unsubscribe() -> None:
            subs = self._subs.get(topic_filter)
            if subs is None or sub not in subs:
                return
            subs.remove(sub)
            if subs:
                return
            del self._subs[topic_filter]
            self._wildcards.discard(topic_filter)
            self._acked.pop(topic_filter, None)
            current = self._client
            if current is not None:
                self._sync(current)

        return unsubscribe

    async def wait_subscribed(self, topic_filter: str) -> None:
        """Wait until the broker acknowledged `topic_filter` on the current connection.

        Drivers await this (inside their own timeout) before publishing a command, so the reply
        cannot arrive before the subscription that receives it.
        """
        event = self._acked.get(topic_filter)
        if event is None:
            raise ValueError(f"no subscription for {topic_filter!r}")
        await event.wait()

    # ---- connection loop ----

    async def _run(self) -> None:
        backoff = Backoff(self._reconnect_min, self._reconnect_max)
        failures = 0
        while True:
            connects = self.connects
            try:
                await self._session(backoff)
            except aiomqtt.MqttError as err:
                failures = 0 if self.connects != connects else failures + 1
                # Say it once per outage, not once per attempt.
                logger.log(
                    logging.WARNING if failures <= 1 else logging.DEBUG,
                    "mqtt connection lost" if failures == 0 else "mqtt connection failed",
                    extra={"host": self.host, "port": self.port, "error": str(err), "attempt": failures},
                )
            except Exception:
                logger.exception("mqtt bus session crashed", extra={"host": self.host, "port": self.port})
            finally:
                self._mark_disconnected()
            await asyncio.sleep(backoff.next())

    async def _session(self, backoff: Backoff) -> None:
        client = aiomqtt.Client(
            self.host,
            self.port,
            identifier=self._client_id,
            keepalive=self._keepalive,
            timeout=OPERATION_TIMEOUT_S,
            socket_options=SOCKET_OPTIONS,
        )
        client.pending_calls_threshold = PENDING_PUBLISH_WARNING
        async with client:
            backoff.reset()
            self._client = client
            filters = broker_filters(self._subs)
            self._at_broker = set(filters)
            if filters:
                await client.subscribe([(f, SUBSCRIBE_QOS) for f in sorted(filters)])
                self._mark_acked(filters)
            self.connects += 1
            self._connected.set()
            logger.info(
                "mqtt connected",
                extra={"host": self.host, "port": self.port, "subscriptions": len(filters)},
            )
            async for message in client.messages:
                self._dispatch(message)

    def _mark_disconnected(self) -> None:
        self._client = None
        self._at_broker = set()
        self._connected.clear()
        for event in self._acked.values():
            event.clear()

    def _mark_acked(self, acked: Iterable[str]) -> None:
        acked = list(acked)
        for topic_filter, event in self._acked.items():
            if any(covers(broker_filter, topic_filter) for broker_filter in acked):
                event.set()

    def _sync(self, client: aiomqtt.Client, *, refresh: str | None = None) -> None:
        """Bring the broker's subscriptions in line with the registered filters.

        Subscribes come before unsubscribes so that no message falls in a gap. `refresh` is a
        filter that just got a new callback: its broker subscription is renewed so the broker
        sends that callback the retained messages too.
        """
        wanted = broker_filters(self._subs)
        renew = {f for f in wanted & self._at_broker if refresh is not None and covers(f, refresh)}
        for topic_filter in sorted((wanted - self._at_broker) | renew):
            self._spawn(self._subscribe_now(client, topic_filter), f"mqtt-subscribe {topic_filter}")
        for topic_filter in sorted(self._at_broker - wanted):
            self._spawn(self._unsubscribe_now(client, topic_filter), f"mqtt-unsubscribe {topic_filter}")
        self._at_broker = wanted

    async def _subscribe_now(self, client: aiomqtt.Client, topic_filter: str) -> None:
        try:
            await client.subscribe(topic_filter, qos=SUBSCRIBE_QOS)
        except aiomqtt.MqttError as err:
            # The next connection subscribes every filter again.
            logger.warning("mqtt subscribe failed", extra={"filter": topic_filter, "error": str(err)})
            return
        if self._client is client:
            self._mark_acked([topic_filter])

    async def _unsubscribe_now(self, client: aiomqtt.Client, topic_filter: str) -> None:
        try:
            await client.unsubscribe(topic_filter)
        except aiomqtt.MqttError as err:
            logger.warning("mqtt unsubscribe failed", extra={"filter": topic_filter, "error": str(err)})

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _dispatch(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        data = bytes(message.payload)
        # amqtt may send a new client retained messages of other clients' filters: match every message.
        matched: list[_Subscription] = list(self._subs.get(topic, ()))
        for topic_filter in self._wildcards:
            if message.topic.matches(topic_filter):
                matched.extend(self._subs.get(topic_filter, ()))
        for sub in matched:
            try:
                sub.callback(topic, data)
            except Exception:
                logger.exception("mqtt subscriber failed", extra={"topic": topic, "filter": sub.topic_filter})
