"""The simulators speak the wire protocol as written, checked with raw aiomqtt and pymodbus clients."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge.broker import EmbeddedBroker
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_modbus import SimulatedModbusSwitch
from simulators.power_mqtt import SimulatedMqttSwitch
from simulators.scanner import SimulatedTcpScanner

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@pytest.fixture
async def client(mqtt_broker: EmbeddedBroker) -> AsyncIterator[aiomqtt.Client]:
    """A plain MQTT client standing in for the edge."""
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port, socket_options=NODELAY) as mqtt:
        yield mqtt


async def next_json(mqtt: aiomqtt.Client, topic: str, timeout: float = 5.0) -> tuple[dict[str, Any], bool]:
    """The next message on `topic` (others skipped), decoded, and its retain flag."""
    async with asyncio.timeout(timeout):
        async for message in mqtt.messages:
            if message.topic.matches(topic):
                assert isinstance(message.payload, bytes)
                return json.loads(message.payload), message.retain
    raise AssertionError("message stream ended")


async def test_a_lock_announces_its_retained_locked_state_and_a_heartbeat(
    mqtt_broker: EmbeddedBroker, client: aiomqtt.Client
) -> None:
    async with SimulatedMqttLock(mqtt_broker.host, mqtt_broker.port, "l1", battery=77):
        await client.subscribe("gh/dev/l1/#", qos=1)
        state, retained = await next_json(client, "gh/dev/l1/state")
        assert retained
        assert (state["state"], state["door"], state["cmd_id"]) == ("locked", "closed", None)
        assert isinstance(state["ts"], float)


async def test_heartbeats_carry_the_battery(mqtt_broker: EmbeddedBroker, client: aiomqtt.Client) -> None:
    await client.subscribe("gh/dev/l1/heartbeat", qos=0)
    async with SimulatedMqttLock(mqtt_broker.host, mqtt_broker.port, "l1", battery=77):
        heartbeat, _ = await next_json(client, "gh/dev/l1/heartbeat")
        assert heartbeat["battery"] == 77


async def test_an_unlock_answers_unlocking_then_unlocked_with_the_command_id_then_relocks(
    mqtt_broker: EmbeddedBroker, client: aiomqtt.Client
) -> None:
    async with SimulatedMqttLock(mqtt_broker.host, mqtt_broker.port, "l1", relock_after_s=0) as sim:
        await client.subscribe("gh/dev/l1/state", qos=1)
        await next_json(client, "gh/dev/l1/state")  # the retained state
        await client.publish("gh/dev/l1/cmd", b'{"id": "c1", "op": "unlock"}', qos=1)
        answers = [(await next_json(client, "gh/dev/l1/state"))[0] for _ in range(3)]
        assert [(a["state"], a["cmd_id"]) for a in answers] == [
            ("unlocking", "c1"),
            ("unlocked", "c1"),
            ("locked", None),
        ]
        assert sim.unlocks == 1
        assert sim.commands == [{"id": "c1", "op": "unlock"}]


async def test_an_unknown_op_gets_an_error_reply_that_is_not_retained(
    mqtt_broker: EmbeddedBroker, client: aiomqtt.Client
) -> None:
    async with SimulatedMqttLock(mqtt_broker.host, mqtt_broker.port, "l1"):
        await client.subscribe("gh/dev/l1/state", qos=1)
        await next_json(client, "gh/dev/l1/state")
        await client.publish("gh/dev/l1/cmd", b'{"id": "c2", "op": "dance"}', qos=1)
        reply, _ = await next_json(client, "gh/dev/l1/state")
        assert reply == {"error": "unknown_op", "cmd_id": "c2"}
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port, socket_options=NODELAY) as late:
            await late.subscribe("gh/dev/l1/state", qos=1)
            kept, retained = await next_json(late, "gh/dev/l1/state")
        assert retained and kept["state"] == "locked"


async def test_a_switch_sets_a_channel_and_refuses_a_channel_it_lacks(
    mqtt_broker: EmbeddedBroker, client: aiomqtt.Client
) -> None:
    async with SimulatedMqttSwitch(mqtt_broker.host, mqtt_broker.port, "p1", channels=2) as sim:
        await client.subscribe("gh/dev/p1/state", qos=1)
        initial, _ = await next_json(client, "gh/dev/p1/state")
        assert initial["channels"] == [False, False]
        await client.publish("gh/dev/p1/cmd", b'{"id": "s1", "op": "set", "channel": 1, "on": true}', qos=1)
        state, _ = await next_json(client, "gh/dev/p1/state")
        assert (state["channels"], state["cmd_id"]) == ([False, True], "s1")
        await client.publish("gh/dev/p1/cmd", b'{"id": "s2", "op": "set", "channel": 2, "on": true}', qos=1)
        error, _ = await next_json(client, "gh/dev/p1/state")
        assert error == {"error": "bad_request", "cmd_id": "s2"}
        assert sim.writes == 1


async def test_the_modbus_switch_serves_its_coils_and_keeps_them_across_a_restart() -> None:
    async with SimulatedModbusSwitch(unit=3, channels=4) as sim:
        modbus = AsyncModbusTcpClient("127.0.0.1", port=sim.port, reconnect_delay=0)
        assert await modbus.connect()
        try:
            assert not (await modbus.write_coil(2, True, device_id=3)).isError()
            assert (await modbus.read_coils(2, count=1, device_id=3)).bits[0] is True
            beyond = await modbus.read_coils(4, count=1, device_id=3)
            assert beyond.isError() and beyond.exception_code == 2
            sim.exception_code = 6
            busy = await modbus.write_coil(0, True, device_id=3)
            assert busy.isError() and busy.exception_code == 6
        finally:
            modbus.close()
        assert sim.channels == [False, False, True, False]
        assert sim.writes == 1
        port = sim.port
        await sim.go_offline()
        assert sim.offline
        await sim.come_online()
        assert sim.port == port
        sim.exception_code = None
        modbus = AsyncModbusTcpClient("127.0.0.1", port=sim.port, reconnect_delay=0)
        assert await modbus.connect()
        try:
            assert (await modbus.read_coils(2, count=1, device_id=3)).bits[0] is True
        finally:
            modbus.close()


async def test_the_tcp_scanner_writes_each_scan_as_a_crlf_line_to_every_client() -> None:
    async with SimulatedTcpScanner() as sim:
        first = await asyncio.open_connection("127.0.0.1", sim.port)
        second = await asyncio.open_connection("127.0.0.1", sim.port)
        try:
            await sim.wait_client()
            async with asyncio.timeout(5):
                while sim.clients < 2:  # noqa: ASYNC110 - accept runs in the server's own task
                    await asyncio.sleep(0.005)
            await sim.scan("GH1.x")
            assert await first[0].readline() == b"GH1.x\r\n"
            assert await second[0].readline() == b"GH1.x\r\n"
        finally:
            for _, writer in (first, second):
                writer.close()
