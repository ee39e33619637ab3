"""SimulatedModbusSwitch: a Modbus TCP relay board (coil n = channel n) with fault injection.

Built on pymodbus's SimDevice/SimData datastore; its `action` hook sees every request, which is
where the faults (delay, exception replies) and the write counter live.
"""

from __future__ import annotations

import asyncio

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from .modbus_server import SimulatedModbusServer

READ_BITS = frozenset({1, 2})  # read coils, read discrete inputs
WRITE_COILS = frozenset({5, 15})  # write single coil, write multiple coils
BITS_PER_REGISTER = 16


class SimulatedModbusSwitch(SimulatedModbusServer):
    """Async context manager serving coils 0..channels-1 of one unit on host:port (0 = a free port).

    Fault injection: `delay_s` (answer late), `exception_code` (answer every request with that
    Modbus exception, e.g. 4 = device failure), `go_offline()` / `come_online()` (stop and start
    listening on the same port). `writes` counts accepted coil writes.
    """

    kind = "modbus switch"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, unit: int = 1, channels: int = 4) -> None:
        if not 1 <= channels <= 2000:
            raise ValueError("channels must be 1..2000")
        super().__init__(host, port, unit=unit)
        self.writes = 0
        self._values = [False] * channels

    @property
    def channels(self) -> list[bool]:
        """The current coil values."""
        return list(self._values)

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
