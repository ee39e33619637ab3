"""SimulatedStore: one simulator per device record, free ports published, lookups by id."""

from __future__ import annotations

import pytest

from drivers.gate import ModbusGate, MqttGate
from drivers.lock import BleLock, LockState, MqttLock
from drivers.mqtt import MqttBus
from drivers.power import ModbusPowerSwitch, MqttPowerSwitch
from drivers.printer import Cut, EscposPrinter, Line, PrintJob
from drivers.scanner import TcpLineScanner
from drivers.sensor import MqttSensor, SensorKind, SensorState
from edge.broker import EmbeddedBroker
from simulators.gate_modbus import SimulatedModbusGate
from simulators.gate_mqtt import SimulatedMqttGate
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_modbus import SimulatedModbusSwitch
from simulators.power_mqtt import SimulatedMqttSwitch
from simulators.scanner import SimulatedMqttScanner, SimulatedTcpScanner
from simulators.store import SIMULATORS, DeviceSpec, SimulatedStore
from tests.integration.drivers.support import ScanInbox, eventually

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
        ("lock", "ble"),
        ("power", "modbus"),
        ("power", "mqtt"),
        ("gate", "modbus"),
        ("gate", "mqtt"),
        ("printer", "escpos"),
        ("scanner", "mqtt"),
        ("scanner", "tcp"),
        ("sensor", "mqtt"),
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
    camera = DeviceSpec("camera-1", "camera", "rtsp")
    with pytest.raises(ValueError, match="camera"):
        SimulatedStore([camera], mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port)
    async with SimulatedStore(
        [camera, DEVICES[0]], mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port, strict=False
    ) as store:
        assert store.skipped == ["camera-1"]
        with pytest.raises(KeyError):
            store.scanner("camera-1")


async def test_a_simulator_that_cannot_start_stops_the_others(mqtt_broker: EmbeddedBroker) -> None:
    async with SimulatedModbusSwitch() as taken:
        busy = DeviceSpec("power-a", "power", "modbus", None, {"port": str(taken.port)})
        lock = DeviceSpec("lock-a", "lock", "mqtt")
        store = SimulatedStore([busy, lock], mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port)
        with pytest.raises(RuntimeError, match="listen"):
            await store.__aenter__()
        assert store.lock("lock-a").offline


NEW_KINDS = [
    DeviceSpec("lock-ble", "lock", "ble", "room-c", {"address": "c0:ff:ee:00:00:01", "relock_after_s": "60"}),
    DeviceSpec("lock-ble-2", "lock", "ble", "room-d"),
    DeviceSpec("gate-m", "gate", "modbus", None, {"port": "0", "unit": "2"}),
    DeviceSpec("gate-q", "gate", "mqtt", None),
    DeviceSpec("printer-1", "printer", "escpos", None, {"host": "127.0.0.1"}),
    DeviceSpec("smoke-1", "sensor", "mqtt", "room-c", {"sensor": "smoke"}),
    DeviceSpec("button-1", "sensor", "mqtt", "room-c", {"sensor": "button"}),
]


async def test_the_new_device_kinds_run_in_the_store_and_their_drivers_reach_them(
    mqtt_broker: EmbeddedBroker,
) -> None:
    async with SimulatedStore(NEW_KINDS, mqtt_host=mqtt_broker.host, mqtt_port=mqtt_broker.port) as store:
        assert store.ble_addresses["lock-ble"] == "C0:FF:EE:00:00:01"
        derived = store.ble_addresses["lock-ble-2"]
        assert derived.startswith("02:") and len(derived) == 17
        assert set(store.modbus_ports) == {"gate-m"} and set(store.printer_ports) == {"printer-1"}
        assert isinstance(store.gate("gate-m"), SimulatedModbusGate)
        assert isinstance(store.gate("gate-q"), SimulatedMqttGate)
        assert store.sensor("button-1").kind == "button"
        with pytest.raises(KeyError):
            store.printer("gate-m")

        async with BleLock(
            "lock-ble", "c0:ff:ee:00:00:01", backend=store.ble_backend, timeout=1, reconnect_max=0.2
        ) as lock:
            assert (await lock.unlock()).state is LockState.UNLOCKED
        assert store.ble_lock("lock-ble").unlocks == 1
        async with ModbusGate("gate-m", "127.0.0.1", store.modbus_ports["gate-m"], unit=2, timeout=1) as gate:
            assert (await gate.open()).open
        async with EscposPrinter(
            "printer-1", "127.0.0.1", store.printer_ports["printer-1"], timeout=1
        ) as printer:
            await printer.print(PrintJob((Line("hello"), Cut())))
        assert store.printer("printer-1").receipts == [["hello"]]
        async with MqttBus(mqtt_broker.host, mqtt_broker.port) as bus:
            await bus.wait_connected(5)
            assert (await MqttGate(bus, "gate-q", timeout=1).open()).open
            smoke = MqttSensor(bus, "smoke-1", kind=SensorKind.SMOKE)
            changes: list[SensorState] = []
            smoke.on_change(changes.append)
            await store.sensor("smoke-1").trigger()
            await eventually(lambda: any(state.active for state in changes))
    assert store.ble_lock("lock-ble").offline
    assert not store.printer("printer-1").listening
