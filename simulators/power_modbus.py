"""SimulatedModbusSwitch: a Modbus TCP relay board (coil n = channel n) with fault injection.

Built on pymodbus's SimDevice/SimData datastore; its `action` hook sees every request, which is
where the faults (delay, exception replies) and the write counter live.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Self

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

logger = logging.getLogger(__name__)

READ_BITS = frozenset({1, 2})  # read coils, read discrete inputs
WRITE_COILS = frozenset({5, 15})  # write single coil, write multiple coils
BITS_PER_REGISTER = 16


class SimulatedModbusSwitch:
    """Async context manager serving coils 0..channels-1 of one unit on host:port (0 = a free port).

    Fault injection: `delay_s` (answer late), `exception_code` (answer every request with that
    Modbus exception, e.g. 4 = device failure), `go_offline()` / `come_online()` (stop and start
    listening on the same port). `writes` counts accepted coil writes.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, unit: int = 1, channels: int = 4) -> None:
        if not 1 <= channels <= 2000:
            raise ValueError("channels must be 1..2000")
        self.host = host
        self.port = port
        self.unit = unit
        self.delay_s = 0.0
        self.exception_code: int | None = None
        self.writes = 0
        self.requests = 0
        self._values = [False] * channels
        self._server: ModbusTcpServer | None = None

    @property
    def channels(self) -> list[bool]:
        """The current coil values."""
        return list(self._values)

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
        logger.info("simulated modbus switch listening", extra={"host": self.host, "port": self.port})

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
        # Bits are stored 16 to a register; coils keep their values across offline/online.
        registers = -(-len(self._values) // BITS_PER_REGISTER)
        padded = self._values + [False] * (registers * BITS_PER_REGISTER - len(self._values))
        return SimDevice(
            id=self.unit,
            simdata=[SimData(address=0, values=padded, datatype=DataType.BITS)],
            use_bit_addressing=True,
            action=self._action,
        )

    @staticmethod
    def _bound_port(server: ModbusTcpServer) -> int:
        # pymodbus has no getter for the bound port: its transport is the asyncio.Server.
        listener = server.transport
        if not isinstance(listener, asyncio.Server) or not listener.sockets:
            raise RuntimeError("modbus server has no listening socket")
        port: int = listener.sockets[0].getsockname()[1]
        return port

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        # A write also reads its coil back inside the same request (with no values): skip that one.
        is_write = function_code in WRITE_COILS and set_values is not None
        if not is_write and function_code not in READ_BITS:
            return None if function_code in WRITE_COILS else ExcCodes.ILLEGAL_FUNCTION
        self.requests += 1
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        if self.exception_code is not None:
            return ExcCodes(self.exception_code)
        # For reads `count` is in registers, not coils: only the first coil can be checked here.
        span = len(set_values) if set_values is not None else 1
        if address < 0 or address + span > len(self._values):
            return ExcCodes.ILLEGAL_ADDRESS
        if set_values is not None:
            for offset, value in enumerate(set_values):
                self._values[address + offset] = bool(value)
            self.writes += 1
        return None
