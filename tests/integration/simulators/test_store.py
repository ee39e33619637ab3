"""SimulatedStore: one simulator per device record, free ports published, lookups by id."""

from __future__ import annotations

import pytest

from drivers.lock import LockState, MqttLock
from drivers.mqtt import MqttBus
from drivers.power import ModbusPowerSwitch, MqttPowerSwitch
from drivers.scanner import TcpLineScanner
from edge.broker import EmbeddedBroker
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_modbus import SimulatedModbusSwitch
from simulators.power_mqtt import SimulatedMqttSwitch
from simulators.scanner import SimulatedMqttScanner, SimulatedTcpScanner
from simulators.store import SIMULATORS, DeviceSpec, SimulatedStore
from tests.integration.drivers.support import ScanInbox

DEVICES = [
    DeviceSpec("lock-a", "lock", "mqtt", "room-a"),
    DeviceSpec("power-a", "power", "modbus", "room-a", {"host": "127.0.0.1", "port": "0", "channels": "2"}),
    DeviceSpec("power-b", "power", "mqtt", "room-b", {"channels": "3"}),
    DeviceSpec("scan-a", "scanner", "mqtt", "room-a"),
    DeviceSpec("gate", "scanner", "tcp", None, {"host": "127.0.0.1"}),
]


def test_every_device_kind_of_the_records_table_has_a_simulator() -> None:
    assert set(SIMULATORS) == {
        ("lock", "mqtt"),
        ("power", "modbus"),
        ("power", "mqtt"),
        ("scanner", "mqtt"),
        ("scanner", "tcp"),
    }


async def test_the_store_starts_a_simulator_per_device_and_publishes_free_ports(
    mqtt_broker: EmbeddedBroker,
) -> None:
    async with SimulatedStore(DEVICES, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port) as store:
        assert isinstance(store.lock("lock-a"), SimulatedMqttLock)
        assert isinstance(store.switch("power-a"), SimulatedModbusSwitch)
        assert isinstance(store.switch("power-b"), SimulatedMqttSwitch)
        assert isinstance(store.scanner("scan-a"), SimulatedMqttScanner)
        assert isinstance(store.scanner("gate"), SimulatedTcpScanner)
        assert set(store.modbus_ports) == {"power-a"} and store.modbus_ports["power-a"] > 0
        assert set(store.tcp_ports) == {"gate"} and store.tcp_ports["gate"] > 0
        assert store.switch("power-b").channels == [False] * 3
        with pytest.raises(KeyError):
            store.lock("power-a")

        async with MqttBus(mqtt_broker.host, mqtt_broker.port) as bus:
            await bus.wait_connected(5)
            assert (await MqttLock(bus, "lock-a", timeout=1).unlock()).state is LockState.UNLOCKED
            assert store.lock("lock-a").unlocks == 1
            assert await MqttPowerSwitch(bus, "power-b", channels=3, timeout=1).set(True, 2) is True
        async with ModbusPowerSwitch(
            "power-a", "127.0.0.1", store.modbus_ports["power-a"], channels=2
        ) as power:
            assert await power.set(True, 1) is True
        assert store.switch("power-a").channels == [False, True]

        inbox = ScanInbox()
        gate = TcpLineScanner("gate", "127.0.0.1", store.tcp_ports["gate"], inbox)
        await gate.start()
        try:
            tcp_sim = store.scanner("gate")
            assert isinstance(tcp_sim, SimulatedTcpScanner)
            await tcp_sim.wait_client()
            await tcp_sim.scan("GH1.gate")
            assert await inbox.wait_for(1) == ["GH1.gate"]
        finally:
            await gate.stop()
    assert store.lock("lock-a").offline


async def test_a_device_nobody_simulates_is_refused_or_skipped(mqtt_broker: EmbeddedBroker) -> None:
    printer = DeviceSpec("printer-1", "printer", "escpos")
    with pytest.raises(ValueError, match="printer"):
        SimulatedStore([printer], mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port)
    async with SimulatedStore(
        [printer, DEVICES[0]], mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port, strict=False
    ) as store:
        assert store.skipped == ["printer-1"]
        with pytest.raises(KeyError):
            store.scanner("printer-1")


async def test_a_simulator_that_cannot_start_stops_the_others(mqtt_broker: EmbeddedBroker) -> None:
    async with SimulatedModbusSwitch() as taken:
        busy = DeviceSpec("power-a", "power", "modbus", None, {"port": str(taken.port)})
        lock = DeviceSpec("lock-a", "lock", "mqtt")
        store = SimulatedStore([busy, lock], mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port)
        with pytest.raises(RuntimeError, match="listen"):
            await store.__aenter__()
        assert store.lock("lock-a").offline
