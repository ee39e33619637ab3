"""The device manager with every kind of simulated device: availability, polling, alarms, gates, printers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from drivers.mqtt import MqttBus
from edge.broker import EmbeddedBroker
from edge.clock import FakeClock
from edge.devices import Availability, DeviceManager
from edge.records import Device, Room
from edge.sessions.model import RoomState
from edge.store import EdgeStore
from simulators.gate_mqtt import SimulatedMqttGate
from simulators.lock_ble import SimulatedBleLock
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.printer_escpos import SimulatedEscposPrinter
from simulators.sensor_mqtt import SimulatedMqttSensor
from tests.integration.edge.fake_cloud import device_change
from tests.integration.edge.rig import Rig, eventually


async def holds(predicate: Callable[[], bool]) -> None:
    """Wait until a condition on in-process state holds."""

    async def check() -> bool:
        return predicate()

    await eventually(check)


async def built(rig: Rig, device_id: str) -> None:
    """Wait until the edge runs a driver for the device."""
    await holds(lambda: rig.edge.devices.record(device_id) is not None)


def states(rig: Rig, device_id: str) -> list[str]:
    return [p["state"] for p in rig.cloud.payloads("device_state") if p["device_id"] == device_id]


async def test_a_lock_that_falls_silent_goes_offline_after_missed_heartbeats_and_comes_back(rig: Rig) -> None:
    host, port = "127.0.0.1", rig.edge.mqtt_port
    async with SimulatedMqttLock(host, port, "lock-9", heartbeat_s=0.05, battery=80) as lock:
        rig.cloud.put(device_change("lock-9", "lock", "mqtt", "r2", heartbeat_s="0.1"))
        await built(rig, "lock-9")
        await holds(lambda: rig.edge.devices.availability("lock-9") is Availability.ONLINE)
        await lock.go_offline()
        await holds(lambda: rig.edge.devices.availability("lock-9") is Availability.OFFLINE)
        await rig.cloud.wait_for(lambda: "offline" in states(rig, "lock-9"))
        await rig.cloud.wait_for(lambda: any(f["code"] == "offline" for f in rig.cloud.payloads("fault")))
        [fault] = [f for f in rig.cloud.payloads("fault") if f["device_id"] == "lock-9"]
        assert (fault["severity"], fault["room_id"]) == ("critical", "r2")
        assert (await rig.edge.store.session("r2")).state is RoomState.MAINTENANCE
        await lock.come_online()
        await rig.cloud.wait_for(lambda: "online" in states(rig, "lock-9"))
    # The fault stays open until a maintainer resolves it: the room does not return by itself.
    assert (await rig.edge.store.session("r2")).state is RoomState.MAINTENANCE


async def test_a_low_battery_is_reported_once_to_the_store_manager(rig: Rig) -> None:
    host, port = "127.0.0.1", rig.edge.mqtt_port
    async with SimulatedMqttLock(host, port, "lock-9", heartbeat_s=0.02, battery=15):
        rig.cloud.put(device_change("lock-9", "lock", "mqtt", "r2"))
        await rig.cloud.wait_for(lambda: any(f["code"] == "battery_low" for f in rig.cloud.payloads("fault")))
    [fault] = [f for f in rig.cloud.payloads("fault") if f["code"] == "battery_low"]
    assert (fault["device_id"], fault["severity"], fault["audience"]) == ("lock-9", "minor", "store_manager")


async def test_a_switch_turned_by_hand_is_noticed_by_polling(rig: Rig) -> None:
    await holds(lambda: rig.edge.devices.status("pw-1") is not None)
    client = AsyncModbusTcpClient("127.0.0.1", port=rig.power.port)
    await client.connect()
    try:
        await client.write_coil(1, True, device_id=1)  # someone at the wall switch (another master)
    finally:
        client.close()
    await rig.cloud.wait_for(lambda: "partial" in states(rig, "pw-1"))
    status = rig.edge.devices.status("pw-1")
    assert status is not None and (status.state, status.detail) == ("partial", "on:1")


async def test_smoke_opens_every_door_at_once_and_the_room_goes_out_of_service(rig: Rig) -> None:
    host, port = "127.0.0.1", rig.edge.mqtt_port
    async with SimulatedMqttSensor(host, port, "smoke-2", "smoke") as smoke:
        rig.cloud.put(device_change("smoke-2", "sensor", "mqtt", "r2", sensor="smoke"))
        await built(rig, "smoke-2")
        await holds(lambda: rig.edge.devices.status("smoke-2") is not None)
        await smoke.trigger()
        await holds(lambda: rig.lock.unlocks == 1)
        await rig.cloud.wait_for(lambda: any(f["code"] == "smoke" for f in rig.cloud.payloads("fault")))
    [fault] = [f for f in rig.cloud.payloads("fault") if f["code"] == "smoke"]
    assert (fault["severity"], fault["room_id"], fault["device_id"]) == ("critical", "r2", "smoke-2")
    assert (await rig.edge.store.session("r2")).state is RoomState.MAINTENANCE
    assert await rig.edge.faults.alarm_active()
    kinds = [e.kind for e in await rig.edge.store.journal()]
    assert kinds == ["alarm", "door_open"]


async def test_an_entrance_scan_releases_the_gate_and_opens_the_room(rig: Rig) -> None:
    host, port = "127.0.0.1", rig.edge.mqtt_port
    async with SimulatedMqttGate(host, port, "gate-a", pulse_s=5) as gate:
        rig.cloud.put(device_change("gate-a", "gate", "mqtt", ""))
        await built(rig, "gate-a")
        await rig.gate.scan(rig.code())  # rig.gate is the entrance scanner
        await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
        assert gate.opens == 1
        assert rig.lock.unlocks == 1
        assert await gate.pass_through()


async def test_a_print_command_prints_and_a_printer_out_of_paper_is_a_fault(rig: Rig) -> None:
    async with SimulatedEscposPrinter() as printer:
        rig.cloud.put(
            device_change("bar-1", "printer", "escpos", "", host="127.0.0.1", port=str(printer.port))
        )
        await built(rig, "bar-1")
        rig.cloud.command("p1", "print", {"text": "Table 3\n2 x jasmine tea"})
        await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 1)
        assert rig.cloud.results[0].ok, rig.cloud.results[0].message
        assert "2 x jasmine tea" in printer.text
        printer.paper_out = True
        rig.cloud.command("p2", "print", {"text": "Table 4"})
        await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 2)
        assert (rig.cloud.results[1].ok, rig.cloud.results[1].code) == (False, "device_failed")
        await rig.cloud.wait_for(lambda: any(f["code"] == "paper_out" for f in rig.cloud.payloads("fault")))
    [fault] = [f for f in rig.cloud.payloads("fault") if f["code"] == "paper_out"]
    assert (fault["device_id"], fault["severity"]) == ("bar-1", "minor")
    assert json.loads(rig.cloud.results[0].result_json) == {"printer_id": "bar-1"}


async def test_a_ble_lock_is_driven_through_bleaks_client_and_opens_for_its_room(
    mqtt_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    async with (
        SimulatedBleLock("AA:BB:CC:00:00:01", relock_after_s=30, heartbeat_s=0.05) as ble,
        EdgeStore(tmp_path / "edge.db") as store,
        MqttBus("127.0.0.1", mqtt_broker.port) as bus,
    ):
        await store.apply_store_data(
            True, 1, [Room("r1"), Device("ble-1", "lock", "ble", "r1", {"address": ble.address})]
        )
        manager = DeviceManager(store, bus, FakeClock(), ble_backend=ble.backend)
        task = asyncio.create_task(manager.run())
        try:
            await manager.wait_synced()
            await holds(lambda: manager.availability("ble-1") is Availability.ONLINE)
            assert await manager.unlock_room("r1") == "ble-1"
            assert ble.unlocks == 1
            status = manager.status("ble-1")
            assert status is not None and status.state == "unlocked"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
