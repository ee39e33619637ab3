"""The new simulators speak their wire protocols as documented, checked with raw clients (no drivers)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import pytest
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakDeviceNotFoundError, BleakGATTProtocolError
from pymodbus.client import AsyncModbusTcpClient

from edge.broker import EmbeddedBroker
from simulators.gate_modbus import SimulatedModbusGate
from simulators.gate_mqtt import SimulatedMqttGate
from simulators.lock_ble import BleAir, SimulatedBleLock
from simulators.printer_escpos import SimulatedEscposPrinter
from simulators.sensor_mqtt import SimulatedMqttSensor

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
SERVICE = "8e1f0001-5ad0-4c3e-9a4b-6761746568fe"
COMMAND = "8e1f0002-5ad0-4c3e-9a4b-6761746568fe"
EVENT = "8e1f0003-5ad0-4c3e-9a4b-6761746568fe"
BATTERY = "00002a19-0000-1000-8000-00805f9b34fb"


def crc(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, table-free, written again for the test."""
    value = 0xFFFF
    for byte in data:
        value ^= byte << 8
        for _ in range(8):
            value = (value << 1 ^ 0x1021 if value & 0x8000 else value << 1) & 0xFFFF
    return value


def command(seq: int, op: int) -> bytes:
    body = bytes([0xA5, 0x01, 0x01]) + struct.pack(">HB", seq, op)
    return body + struct.pack(">H", crc(body))


# ---- BLE ----


async def test_a_raw_bleak_client_discovers_the_lock_and_commands_it_by_write_and_notify() -> None:
    async with SimulatedBleLock(
        "AA:00:00:00:00:01", relock_after_s=60, battery=66, clock=lambda: 100.5
    ) as sim:
        frames: asyncio.Queue[bytes] = asyncio.Queue()

        def on_event(_: BleakGATTCharacteristic, data: bytearray) -> None:
            frames.put_nowait(bytes(data))

        async with BleakClient("aa:00:00:00:00:01", backend=BleAir(sim).backend, timeout=1) as client:
            assert client.services.get_service(SERVICE) is not None
            assert (await client.read_gatt_char(BATTERY)) == bytearray([66])
            await client.start_notify(EVENT, on_event)
            state, heartbeat = await frames.get(), await frames.get()
            assert state[:7] == bytes([0xA5, 0x01, 0x81, 0, 0, 0, 0])  # spontaneous, locked, door closed
            assert struct.unpack(">IH", state[7:13]) == (100, 500)
            assert heartbeat[:4] == bytes([0xA5, 0x01, 0x83, 66])
            assert int.from_bytes(state[-2:], "big") == crc(state[:-2])

            await client.write_gatt_char(COMMAND, command(9, 1), response=True)
            unlocking, unlocked = await frames.get(), await frames.get()
            assert (unlocking[3:7], unlocked[3:7]) == (bytes([0, 9, 1, 0]), bytes([0, 9, 2, 0]))

            await client.write_gatt_char(COMMAND, command(10, 7), response=True)
            assert (await frames.get())[:6] == bytes([0xA5, 0x01, 0x82, 0, 10, 3])  # unknown_op
            await client.write_gatt_char(COMMAND, command(11, 1)[:-1] + b"\x00", response=True)
            assert (await frames.get())[:6] == bytes([0xA5, 0x01, 0x82, 0, 11, 2])  # bad_frame
            with pytest.raises(BleakGATTProtocolError):
                await client.write_gatt_char(EVENT, b"\x00", response=True)
        assert sim.unlocks == 1 and sim.connected == 0
        assert sim.commands == [(9, "unlock")]


async def test_a_lock_out_of_range_is_not_found_and_a_lost_link_calls_the_disconnect_callback() -> None:
    async with SimulatedBleLock("AA:00:00:00:00:02") as sim:
        backend = sim.backend
        sim.go_offline()
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient("AA:00:00:00:00:02", backend=backend).connect()
        sim.come_online()
        lost = asyncio.Event()
        client = BleakClient("AA:00:00:00:00:02", lambda _: lost.set(), backend=backend)
        await client.connect()
        assert client.is_connected and sim.connected == 1
        sim.drop_link()
        async with asyncio.timeout(5):
            await lost.wait()
        assert not client.is_connected


# ---- Modbus gate ----


async def test_the_modbus_gate_pulses_on_a_coil_write_and_counts_passes_in_input_registers() -> None:
    async with SimulatedModbusGate(unit=2, pulse_s=60) as sim:
        modbus = AsyncModbusTcpClient("127.0.0.1", port=sim.port, reconnect_delay=0)
        assert await modbus.connect()
        try:
            assert (await modbus.read_holding_registers(0, count=1, device_id=2)).registers == [60_000]
            assert (await modbus.read_input_registers(0, count=3, device_id=2)).registers == [0, 0, 0]
            assert not (await modbus.write_coil(0, True, device_id=2)).isError()
            assert (await modbus.read_coils(0, count=1, device_id=2)).bits[0] is True
            assert (await modbus.read_input_registers(0, count=3, device_id=2)).registers == [0, 0, 1]
            sim.passes = 0x1_0002
            assert sim.pass_through()
            assert (await modbus.read_input_registers(0, count=3, device_id=2)).registers == [1, 3, 0]
            assert (await modbus.read_coils(0, count=1, device_id=2)).bits[0] is False
            assert (await modbus.write_coil(1, True, device_id=2)).isError()
        finally:
            modbus.close()
        assert sim.opens == 1


# ---- MQTT gate and sensor ----


@pytest.fixture
async def client(mqtt_broker: EmbeddedBroker) -> AsyncIterator[aiomqtt.Client]:
    """A plain MQTT client standing in for the edge."""
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port, socket_options=NODELAY) as mqtt:
        yield mqtt


async def next_json(mqtt: aiomqtt.Client, topic: str) -> tuple[dict[str, Any], bool]:
    """The next message on `topic`, decoded, and its retain flag."""
    async with asyncio.timeout(5):
        async for message in mqtt.messages:
            if message.topic.matches(topic):
                assert isinstance(message.payload, bytes)
                return json.loads(message.payload), message.retain
    raise AssertionError("message stream ended")


async def test_the_mqtt_gate_answers_open_then_reports_the_pulse_end(
    mqtt_broker: EmbeddedBroker, client: aiomqtt.Client
) -> None:
    async with SimulatedMqttGate(mqtt_broker.host, mqtt_broker.port, "g1", pulse_s=0.05) as sim:
        await client.subscribe("gh/dev/g1/state", qos=1)
        initial, retained = await next_json(client, "gh/dev/g1/state")
        assert retained and (initial["open"], initial["passes"], initial["cmd_id"]) == (False, 0, None)
        await client.publish("gh/dev/g1/cmd", b'{"id": "o1", "op": "open"}', qos=1)
        opened, _ = await next_json(client, "gh/dev/g1/state")
        closed, _ = await next_json(client, "gh/dev/g1/state")
        assert (opened["open"], opened["cmd_id"]) == (True, "o1")
        assert (closed["open"], closed["cmd_id"]) == (False, None)
        sim.jammed = True
        await client.publish("gh/dev/g1/cmd", b'{"id": "o2", "op": "open"}', qos=1)
        assert (await next_json(client, "gh/dev/g1/state"))[0] == {"error": "jammed", "cmd_id": "o2"}


async def test_the_sensor_publishes_retained_states_and_heartbeats(
    mqtt_broker: EmbeddedBroker, client: aiomqtt.Client
) -> None:
    await client.subscribe("gh/dev/b1/#", qos=1)
    async with SimulatedMqttSensor(mqtt_broker.host, mqtt_broker.port, "b1", "button", battery=12) as sim:
        first, _ = await next_json(client, "gh/dev/b1/state")
        assert (first["kind"], first["active"]) == ("button", False)
        heartbeat, _ = await next_json(client, "gh/dev/b1/heartbeat")
        assert heartbeat["battery"] == 12
        await sim.trigger()
        pressed, _ = await next_json(client, "gh/dev/b1/state")
        assert pressed["active"] is True


# ---- ESC/POS ----


async def test_the_printer_answers_dle_eot_per_its_state_and_keeps_text_and_cuts() -> None:
    async with SimulatedEscposPrinter() as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        try:

            async def status(n: int) -> int:
                writer.write(bytes([0x10, 0x04, n]))
                await writer.drain()
                return (await reader.readexactly(1))[0]

            assert [await status(n) for n in (1, 2, 3, 4)] == [0x12, 0x12, 0x12, 0x12]
            writer.write(b"\x1b@\x1bE\x01Bold\n\x1bE\x00plain\r\n\x1dVB\x03after\n")
            assert await status(1) == 0x12  # answered after the bytes before it were parsed
            sim.paper_out = True
            assert [await status(n) for n in (1, 2, 4)] == [0x1A, 0x32, 0x7E]
            sim.paper_out, sim.cover_open = False, True
            assert [await status(n) for n in (1, 2)] == [0x1A, 0x16]
        finally:
            writer.close()
        assert sim.text == ["Bold", "plain", "after"]
        assert sim.lines[0].bold and not sim.lines[1].bold
        assert sim.receipts == [["Bold", "plain"]]
        assert sim.status_queries == 10
