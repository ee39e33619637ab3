"""The MQTT broker embedded in every edge daemon: the store's devices connect to it."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker

logger = logging.getLogger(__name__)

# Only anonymous auth: the broker binds to the store's device LAN (loopback in tests and the demo).
_PLUGINS: dict[str, Any] = {
    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
}


SHUTDOWN_TIMEOUT_S = 3.0


class _SnapshotDict(dict[str, Any]):
    """A dict whose iteration works on a snapshot.

    amqtt 0.12.1 iterates its subscription table across awaits while other clients (un)subscribe;
    with many devices connecting at once that raised "dictionary changed size during iteration"
    and dropped the connecting client. Iterating a snapshot keeps every connection.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().__iter__()))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return list(super().items())

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(super().keys())


class EmbeddedBroker:
    """An amqtt broker run inside the current event loop: `async with EmbeddedBroker(port=0) as b`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._broker: Broker | None = None
        self.port = 0

    async def start(self) -> None:
        """Bind and start serving; `port` is the bound port afterwards (0 picks a free one)."""
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self._requested_port}"}},
            "plugins": _PLUGINS,
        }
        # amqtt logs every connect and packet at INFO; the edge's own logs say what matters.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        self._broker = Broker(config, loop=asyncio.get_running_loop())
        self._broker._subscriptions = _SnapshotDict()  # see _SnapshotDict
        await self._broker.start()
        self.port = self._bound_port(self._broker)
        logger.info("mqtt broker listening", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        """Stop accepting, drop every client, stop the broker; never hang on a client that won't go."""
        broker, self._broker = self._broker, None
        if broker is None:
            return
        for server in broker._servers.values():
            if server.instance is not None:
                server.instance.close()
        for _session, handler in list(broker._sessions.values()):
            writer = getattr(handler, "writer", None)
            stream = getattr(writer, "_writer", None)
            if isinstance(stream, asyncio.StreamWriter):
                stream.transport.abort()
        # amqtt's shutdown() can wait forever on a client task that swallowed its cancellation.
        shutdown = asyncio.create_task(broker.shutdown(), name="mqtt-broker-shutdown")
        done, _ = await asyncio.wait({shutdown}, timeout=SHUTDOWN_TIMEOUT_S)
        if not done:
            logger.warning("mqtt broker shutdown timed out; abandoning it", extra={"port": self.port})
            shutdown.cancel()

    @staticmethod
    def _bound_port(broker: Broker) -> int:
        # amqtt has no public getter for the bound port: read it off its listening socket.
        server = broker._servers["default"].instance
        sockets: list[socket.socket] = list(getattr(server, "sockets", ()))
        if not sockets:
            raise RuntimeError("mqtt broker has no listening socket")
        port: int = sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
