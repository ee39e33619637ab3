"""SimulatedModbusGate: a turnstile on Modbus TCP — coil 0 pulses it open, input registers report it.

Register map (from drivers/README.md): coil 0 open pulse (cleared by the gate after its pulse);
input registers 0-1 the u32 pass counter (high word first), input register 2 status bits (bit 0
open, bit 1 jammed); holding register 0 the pulse length in ms.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from .modbus_server import SimulatedModbusServer

FC_READ_COILS, FC_READ_HOLDING, FC_READ_INPUT, FC_WRITE_COIL = 1, 3, 4, 5
INPUT_REGISTERS = 3
STATUS_OPEN, STATUS_JAMMED = 0x1, 0x2


class SimulatedModbusGate(SimulatedModbusServer):
    """A turnstile: writing 1 to coil 0 releases the arm for one passage or `pulse_s`, whichever ends first.

    Fault injection (besides the base's delay, exception replies, offline): `jammed` (the arm does
    not move; status bit 1).
    Counters: `opens` (accepted pulses), `passes` (people through), `requests`.
    """

    kind = "modbus gate"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, unit: int = 1, pulse_s: float = 1.0
    ) -> None:
        super().__init__(host, port, unit=unit)
        self.pulse_s = pulse_s
        self.jammed = False
        self.is_open = False
        self.opens = 0
        self.passes = 0
        self._pulse: asyncio.Task[None] | None = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        self._end_pulse()

    def pass_through(self) -> bool:
        """Someone pushes the arm: counted and the gate closes if it was open; False if it was closed."""
        if not self.is_open:
            return False
        self.passes = (self.passes + 1) % (1 << 32)
        self._end_pulse()
        return True

    def _end_pulse(self) -> None:
        self.is_open = False
        if self._pulse is not None and self._pulse is not asyncio.current_task():
            self._pulse.cancel()
        self._pulse = None

    async def _pulse_ends(self) -> None:
        await asyncio.sleep(self.pulse_s)
        self._pulse = None
        self.is_open = False

    def _device(self) -> SimDevice:
        bits = [False] * 16
        return SimDevice(
            id=self.unit,
            simdata=(
                [SimData(0, values=bits, datatype=DataType.BITS)],
                [SimData(0, values=bits, datatype=DataType.BITS)],
                [SimData(0, values=[round(self.pulse_s * 1000) & 0xFFFF], datatype=DataType.REGISTERS)],
                [SimData(0, values=[0] * INPUT_REGISTERS, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )

    def _input_registers(self) -> list[int]:
        status = (STATUS_OPEN if self.is_open else 0) | (STATUS_JAMMED if self.jammed else 0)
        return [self.passes >> 16 & 0xFFFF, self.passes & 0xFFFF, status]

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        # A coil write also reads its coil back inside the same request (with no values): skip that one.
        if function_code == FC_WRITE_COIL and set_values is None:
            return None
        if function_code not in (FC_READ_COILS, FC_READ_HOLDING, FC_READ_INPUT, FC_WRITE_COIL):
            return ExcCodes.ILLEGAL_FUNCTION
        self.requests += 1
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        if self.exception_code is not None:
            return ExcCodes(self.exception_code)
        if function_code == FC_WRITE_COIL:
            if address != 0:
                return ExcCodes.ILLEGAL_ADDRESS
            if set_values and bool(set_values[0]):
                self._open()
            return None
        if function_code == FC_READ_COILS:
            current_registers[0] = 1 if self.is_open else 0
        elif function_code == FC_READ_INPUT:
            values = self._input_registers()
            for index in range(len(current_registers)):
                register = start_address + index
                if 0 <= register < INPUT_REGISTERS:
                    current_registers[index] = values[register]
        return None

    def _open(self) -> None:
        if self.jammed:
            return
        self.opens += 1
        self.is_open = True
        if self._pulse is not None:
            self._pulse.cancel()
        self._pulse = asyncio.create_task(self._pulse_ends(), name="sim gate pulse")
