"""SimulatedModbusServer: the Modbus TCP server part every simulated Modbus device shares."""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Self

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice

logger = logging.getLogger(__name__)


class SimulatedModbusServer:
    """Async context manager serving one unit on host:port (0 = a free port, kept across restarts).

    Subclasses build the pymodbus `SimDevice` (its `action=` hook sees every request) in `_device()`.
    Common fault injection: `delay_s` (answer late), `exception_code` (answer with that Modbus
    exception), `go_offline()` / `come_online()` (stop and start listening on the same port).
    """

    kind = "modbus device"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, unit: int = 1) -> None:
        self.host = host
        self.port = port
        self.unit = unit
        self.delay_s = 0.0
        self.exception_code: int | None = None
        self.requests = 0
        self._server: ModbusTcpServer | None = None

    @property
    def offline(self) -> bool:
        """True while not listening."""
        return self._server is None

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

    async def come_online(self) -> None:
        """Start listening (on the port chosen the first time, so clients can come back)."""
        if self._server is not None:
            return
        server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        self.port = self._bound_port(server)
        logger.info("simulated %s listening", self.kind, extra={"host": self.host, "port": self.port})

    async def go_offline(self) -> None:
        """Stop listening and drop every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        listener = server.transport
        await server.shutdown()  # type: ignore[no-untyped-call]
        if isinstance(listener, asyncio.Server):
            await listener.wait_closed()

    def _device(self) -> SimDevice:
        raise NotImplementedError

    @staticmethod
    def _bound_port(server: ModbusTcpServer) -> int:
        # pymodbus has no getter for the bound port: its transport is the asyncio.Server.
        listener = server.transport
        if not isinstance(listener, asyncio.Server) or not listener.sockets:
            raise RuntimeError("modbus server has no listening socket")
        port: int = listener.sockets[0].getsockname()[1]
        return port
