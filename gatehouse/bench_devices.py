"""Device command latency per protocol: each driver against its simulator, beside the bare round trip.

Every figure is measured on loopback in this process, the driver's command next to the protocol's
bare round trip (no driver) on the same simulator or broker in the same run, so the difference is
what the driver adds (acknowledgement, read-back, retries machinery).
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

import aiomqtt
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from pymodbus.client import AsyncModbusTcpClient

from drivers.gate import ModbusGate
from drivers.lock import BLE_LOCK_GATT, BleLock, LockOp, MqttLock
from drivers.lock.codec import encode_ble_command
from drivers.mqtt import MqttBus
from drivers.power import ModbusPowerSwitch, MqttPowerSwitch
from drivers.printer import EscposPrinter
from edge.broker import EmbeddedBroker
from gatehouse.measure import ms, percentile
from simulators.gate_modbus import SimulatedModbusGate
from simulators.lock_ble import SimulatedBleLock
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_modbus import SimulatedModbusSwitch
from simulators.power_mqtt import SimulatedMqttSwitch
from simulators.printer_escpos import SimulatedEscposPrinter

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
WARMUP = 20
STEP_TIMEOUT_S = 10.0
BLE_ADDRESS = "02:BE:AC:00:00:01"
STATE_FRAME = 0x81

Step = Callable[[int], Awaitable[object]]


async def _time(step: Step, samples: int) -> list[float]:
    """Seconds per call of `step(i)`, after a warm-up that is not counted."""
    for i in range(WARMUP):
        await step(i)
    took: list[float] = []
    for i in range(samples):
        started = time.perf_counter()
        await step(i)
        took.append(time.perf_counter() - started)
    return took


async def _figures(command: Step, baseline: Step, samples: int) -> dict[str, float]:
    driver = await _time(command, samples)
    bare = await _time(baseline, samples)
    return {
        "p50_ms": ms(percentile(driver, 50)),
        "p99_ms": ms(percentile(driver, 99)),
        "baseline_p50_ms": ms(percentile(bare, 50)),
    }


# ---- bare round trips ----


class _MqttEcho:
    """QoS 1 publish -> receive of the same message on one broker, by one raw aiomqtt client."""

    def __init__(self, client: aiomqtt.Client, topic: str) -> None:
        self._client = client
        self._topic = topic
        self._waiting: asyncio.Future[None] | None = None
        self._reader = asyncio.create_task(self._read(), name="bench-mqtt-echo")

    async def _read(self) -> None:
        async for message in self._client.messages:
            if message.topic.matches(self._topic) and self._waiting is not None and not self._waiting.done():
                self._waiting.set_result(None)

    async def round_trip(self, i: int) -> None:
        """Publish one message and wait until it comes back."""
        self._waiting = asyncio.get_running_loop().create_future()
        await self._client.publish(self._topic, str(i).encode(), qos=1)
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await self._waiting

    async def close(self) -> None:
        """Stop reading."""
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def _with_mqtt_echo(
    broker: EmbeddedBroker, run: Callable[[Step], Awaitable[dict[str, float]]]
) -> dict[str, float]:
    async with aiomqtt.Client(
        broker.host, broker.port, identifier="bench-echo", socket_options=NODELAY
    ) as client:
        topic = f"bench/echo/{uuid.uuid4().hex}"
        await client.subscribe(topic, qos=1)
        echo = _MqttEcho(client, topic)
        try:
            return await run(echo.round_trip)
        finally:
            await echo.close()


def _modbus_read_coils(client: AsyncModbusTcpClient, unit: int) -> Step:
    async def step(i: int) -> None:
        result = await client.read_coils(0, count=1, device_id=unit)
        if result.isError():
            raise RuntimeError(f"baseline read_coils failed: {result}")

    return step


# ---- per protocol ----


async def _mqtt_lock(broker: EmbeddedBroker, bus: MqttBus, samples: int) -> dict[str, float]:
    async with SimulatedMqttLock(broker.host, broker.port, "bench-lock", relock_after_s=3600):
        lock = MqttLock(bus, "bench-lock")

        async def command(i: int) -> None:
            await (lock.unlock() if i % 2 == 0 else lock.lock())

        try:
            return await _with_mqtt_echo(broker, lambda echo: _figures(command, echo, samples))
        finally:
            lock.close()


async def _mqtt_power(broker: EmbeddedBroker, bus: MqttBus, samples: int) -> dict[str, float]:
    async with SimulatedMqttSwitch(broker.host, broker.port, "bench-power", channels=2):
        switch = MqttPowerSwitch(bus, "bench-power", channels=2)

        async def command(i: int) -> None:
            await switch.set(i % 2 == 0, channel=1)

        try:
            return await _with_mqtt_echo(broker, lambda echo: _figures(command, echo, samples))
        finally:
            switch.close()


async def _ble_lock(samples: int) -> dict[str, float]:
    async with SimulatedBleLock(BLE_ADDRESS, relock_after_s=3600) as sim:
        backend = sim.backend
        async with BleLock("bench-ble", BLE_ADDRESS, backend=backend) as lock:
            await lock.wait_connected(STEP_TIMEOUT_S)

            async def command(i: int) -> None:
                await (lock.unlock() if i % 2 == 0 else lock.lock())

            driver = await _time(command, samples)
        # The bare round trip: bleak's client on the same backend, one status write and its notification.
        answers: asyncio.Queue[bytes] = asyncio.Queue()

        def on_event(_: BleakGATTCharacteristic, data: bytearray) -> None:
            answers.put_nowait(bytes(data))

        async with BleakClient(BLE_ADDRESS, backend=backend) as client:
            await client.start_notify(BLE_LOCK_GATT.event, on_event)

            async def bare(i: int) -> None:
                seq = i % 0xFFFF + 1
                await client.write_gatt_char(
                    BLE_LOCK_GATT.command, encode_ble_command(seq, LockOp.STATUS), response=True
                )
                async with asyncio.timeout(STEP_TIMEOUT_S):
                    while True:  # skip the state and heartbeat the lock sent when notifications started
                        frame = await answers.get()
                        if frame[2] == STATE_FRAME and int.from_bytes(frame[3:5], "big") == seq:
                            return

            baseline = await _time(bare, samples)
    return {
        "p50_ms": ms(percentile(driver, 50)),
        "p99_ms": ms(percentile(driver, 99)),
        "baseline_p50_ms": ms(percentile(baseline, 50)),
    }


async def _modbus_power(samples: int) -> dict[str, float]:
    async with (
        SimulatedModbusSwitch(channels=2) as sim,
        ModbusPowerSwitch("bench-modbus", "127.0.0.1", sim.port, channels=2) as switch,
    ):

        async def command(i: int) -> None:
            await switch.set(i % 2 == 0, channel=1)

        raw = AsyncModbusTcpClient("127.0.0.1", port=sim.port, reconnect_delay=0)
        await raw.connect()
        try:
            return await _figures(command, _modbus_read_coils(raw, 1), samples)
        finally:
            raw.close()


async def _modbus_gate(samples: int) -> dict[str, float]:
    async with (
        SimulatedModbusGate(pulse_s=3600) as sim,
        ModbusGate("bench-gate", "127.0.0.1", sim.port) as gate,
    ):

        async def command(i: int) -> None:
            await gate.open()

        raw = AsyncModbusTcpClient("127.0.0.1", port=sim.port, reconnect_delay=0)
        await raw.connect()
        try:
            return await _figures(command, _modbus_read_coils(raw, 1), samples)
        finally:
            raw.close()


async def _escpos_status(samples: int) -> dict[str, float]:
    async with (
        SimulatedEscposPrinter() as sim,
        EscposPrinter("bench-printer", "127.0.0.1", sim.port) as printer,
    ):

        async def command(i: int) -> None:
            await printer.status()

        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        async def bare(i: int) -> None:
            writer.write(b"\x10\x04\x01")
            await writer.drain()
            async with asyncio.timeout(STEP_TIMEOUT_S):
                await reader.readexactly(1)

        try:
            return await _figures(command, bare, samples)
        finally:
            writer.close()


async def bench_device_commands(samples: int = 500) -> dict[str, dict[str, float]]:
    """Per protocol: p50/p99 of `samples` driver commands against the simulator, and the bare p50.

    Keys: mqtt_lock, ble_lock, modbus_power, mqtt_power, escpos_status (DLE EOT 1-4 through the
    driver vs one raw DLE EOT), modbus_gate (open: coil pulse + register read-back vs a raw
    read_coils).
    """
    if samples < 1:
        raise ValueError("samples must be >= 1")
    figures: dict[str, dict[str, float]] = {}
    async with (
        EmbeddedBroker(port=0) as broker,
        MqttBus(broker.host, broker.port, client_id="bench-bus") as bus,
    ):
        await bus.wait_connected(STEP_TIMEOUT_S)
        figures["mqtt_lock"] = await _mqtt_lock(broker, bus, samples)
        figures["mqtt_power"] = await _mqtt_power(broker, bus, samples)
    figures["ble_lock"] = await _ble_lock(samples)
    figures["modbus_power"] = await _modbus_power(samples)
    figures["modbus_gate"] = await _modbus_gate(samples)
    figures["escpos_status"] = await _escpos_status(samples)
    return figures
