"""The Redis bus (redis-py asyncio pub/sub): reconnects with backoff; while Redis is down nothing crashes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from cloud.bus.base import (
    BUS_CONNECTED,
    BUS_DROPPED,
    BUS_RECONNECTS,
    BusUnavailable,
    Handler,
    HandlerTable,
    Unsubscribe,
)

logger = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.1
BACKOFF_CAP_S = 5.0
BACKLOG = 10_000
READ_WAIT_S = 1.0
# Errors that mean "Redis is not reachable now" (redis-py wraps most; sockets may leak through).
DOWN_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def redis_client(url: str, *, max_connections: int = 50) -> Redis:
    """A client for url: fails fast while Redis is down, waits (bounded) for a free pooled connection."""
    # redis-py's asyncio pool raises past its size instead of waiting: the blocking pool waits (bounded).
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=2.0,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        # One immediate retry: it replaces a pooled connection that died with a restarted server;
        # against a server that is down it fails at once (connection refused).
        retry=Retry(NoBackoff(), 1),
    )
    return Redis(connection_pool=pool)


def backoff_delays(first: float = BACKOFF_FIRST_S, cap: float = BACKOFF_CAP_S) -> Any:
    """Exponential delays with full jitter: first, 2*first, ... capped (an endless generator)."""
    delay = first
    while True:
        yield random.uniform(delay / 2, delay)
        delay = min(cap, delay * 2)


class RedisBus:
    """A Bus over Redis pub/sub: one subscriber connection per worker, publishes on the shared pool."""

    def __init__(self, client: Redis, worker_id: str | None = None) -> None:
        self._client = client
        self._worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self._handlers = HandlerTable()
        self._pubsub: PubSub | None = None
        self._subscribed: set[str] = set()
        self._sync_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._outgoing: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(BACKLOG)
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._connected = False
        self._down_logged = False

    @property
    def worker_id(self) -> str:
        """This worker's id."""
        return self._worker_id

    @property
    def available(self) -> bool:
        """Whether the subscriber connection is up."""
        return self._connected

    def subscribe(self, channel: str, handler: Handler) -> Unsubscribe:
        """Call handler with every message on channel (SUBSCRIBE is sent in the background)."""
        if self._handlers.add(channel, handler):
            self._spawn(self._sync(channel))
        return lambda: self._remove(channel, handler)

    def _remove(self, channel: str, handler: Handler) -> None:
        if self._handlers.remove(channel, handler):
            self._spawn(self._sync(channel))

    def subscribed(self, channel: str) -> bool:
        """Whether Redis has been told to send channel's messages here."""
        return channel in self._subscribed

    def publish(self, channel: str, data: bytes) -> None:
        """Queue data for the publisher task; dropped (counted) while the bus is down or the backlog full."""
        if not self._connected:
            BUS_DROPPED.inc()
            return
        try:
            self._outgoing.put_nowait((channel, data))
        except asyncio.QueueFull:
            BUS_DROPPED.inc()

    async def deliver(self, channel: str, data: bytes) -> int:
        """PUBLISH now; the number of workers subscribed to channel."""
        try:
            return int(await self._client.publish(channel, data))
        except DOWN_ERRORS as err:
            raise BusUnavailable(f"redis: {err}") from err

    async def start(self) -> None:
        """Start the subscriber and publisher tasks (they connect, and reconnect, by themselves)."""
        BUS_CONNECTED.set(0)
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-listen"),
            asyncio.create_task(self._publish_loop(), name="bus-publish"),
        ]

    async def stop(self) -> None:
        """Stop the tasks and close the subscriber connection."""
        for task in [*self._tasks, *self._background]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        self._tasks = []
        await self._drop_pubsub()
        self._set_connected(False)

    # ---- internals ----

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _set_connected(self, up: bool) -> None:
        if up == self._connected:
            return
        self._connected = up
        BUS_CONNECTED.set(1 if up else 0)
        if up:
            logger.info("fan-out bus connected", extra={"worker_id": self._worker_id})
            self._down_logged = False
        else:
            BUS_RECONNECTS.inc()

    async def _sync(self, channel: str) -> None:
        """Make Redis's subscription of channel match the handlers (idempotent; ordered by a lock)."""
        async with self._sync_lock:
            pubsub = self._pubsub
            if pubsub is None or not self._connected:
                return  # the next connect subscribes every channel with handlers
            wanted = channel in self._handlers
            try:
                if wanted and channel not in self._subscribed:
                    await pubsub.subscribe(channel)
                    self._subscribed.add(channel)
                    self._wake.set()
                elif not wanted and channel in self._subscribed:
                    await pubsub.unsubscribe(channel)
                    self._subscribed.discard(channel)
            except DOWN_ERRORS as err:
                logger.warning("bus subscription not changed", extra={"channel": channel, "error": str(err)})

    async def _connect(self) -> PubSub:
        await self._client.ping()
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        async with self._sync_lock:
            channels = self._handlers.channels()
            if channels:
                await pubsub.subscribe(*channels)
            self._pubsub, self._subscribed = pubsub, set(channels)
        return pubsub

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._subscribed = set()
        if pubsub is not None:
            with contextlib.suppress(*DOWN_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _listen(self) -> None:
        delays = backoff_delays()
        while True:
            try:
                pubsub = await self._connect()
                self._set_connected(True)
                delays = backoff_delays()
                while True:
                    if not pubsub.subscribed:
                        # get_message needs a subscription: until the first one, watch the link by PING.
                        self._wake.clear()
                        await self._client.ping()
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(READ_WAIT_S):
                                await self._wake.wait()
                        continue
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=READ_WAIT_S)
                    if message is not None and message.get("type") == "message":
                        channel = message["channel"]
                        name = channel.decode() if isinstance(channel, bytes) else str(channel)
                        self._handlers.dispatch(name, bytes(message["data"]))
            except asyncio.CancelledError:
                raise
            except DOWN_ERRORS as err:
                self._set_connected(False)
                if not self._down_logged:
                    # Once per outage: the streams' polls carry the feed meanwhile.
                    logger.warning(
                        "fan-out bus down; workers fall back to their polls",
                        extra={"worker_id": self._worker_id, "error": str(err)},
                    )
                    self._down_logged = True
            except Exception:
                self._set_connected(False)
                logger.exception("fan-out bus listener failed; reconnecting")
            await self._drop_pubsub()
            await asyncio.sleep(next(delays))

    async def _publish_loop(self) -> None:
        while True:
            channel, data = await self._outgoing.get()
            try:
                await self._client.publish(channel, data)
            except asyncio.CancelledError:
                raise
            except DOWN_ERRORS as err:
                BUS_DROPPED.inc()
                logger.debug("bus publish dropped", extra={"channel": channel, "error": str(err)})
            except Exception:
                BUS_DROPPED.inc()
                logger.exception("bus publish failed", extra={"channel": channel})
