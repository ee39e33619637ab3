"""Alarm zones over the real broker: a smoke sensor opens its zone's doors at once, the rest stay shut."""

from __future__ import annotations

from collections.abc import Callable

from edge.sessions.model import RoomState
from protos import edgelink_pb2 as pb
from simulators.gate_mqtt import SimulatedMqttGate
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.sensor_mqtt import SimulatedMqttSensor
from tests.integration.edge.fake_cloud import device_change
from tests.integration.edge.rig import Rig, eventually


async def holds(predicate: Callable[[], bool]) -> None:
    """Wait until a condition on in-process state holds."""

    async def check() -> bool:
        return predicate()

    await eventually(check)


def zoned_room(room_id: str, zone: str) -> pb.Change:
    """A Room change with an alarm zone."""
    return pb.Change(room=pb.Room(id=room_id, name=room_id, kind="mahjong", zone=zone))


def zoned_device(device_id: str, kind: str, room_id: str, zone: str = "", **config: str) -> pb.Change:
    """A Device change with an alarm zone (store-wide devices only)."""
    return pb.Change(
        device=pb.Device(id=device_id, kind=kind, protocol="mqtt", room_id=room_id, zone=zone, config=config)
    )


async def test_smoke_in_one_zone_opens_that_zones_doors_and_the_shared_exit_only(rig: Rig) -> None:
    host, port = "127.0.0.1", rig.edge.mqtt_port
    async with (
        SimulatedMqttLock(host, port, "lock-2", relock_after_s=30) as lock_2,
        SimulatedMqttLock(host, port, "lock-3", relock_after_s=30) as lock_3,
        SimulatedMqttGate(host, port, "exit-gate", pulse_s=30) as exit_gate,
        SimulatedMqttGate(host, port, "west-gate", pulse_s=30) as west_gate,
        SimulatedMqttSensor(host, port, "smoke-2", "smoke") as smoke,
    ):
        rig.cloud.put(
            zoned_room("r1", "west"),
            zoned_room("r2", "east"),
            zoned_room("r3", "east"),
            device_change("lock-2", "lock", "mqtt", "r2"),
            device_change("lock-3", "lock", "mqtt", "r3"),
            zoned_device("exit-gate", "gate", ""),
            zoned_device("west-gate", "gate", "", "west"),
            device_change("smoke-2", "sensor", "mqtt", "r2", sensor="smoke"),
        )
        await holds(lambda: rig.edge.devices.status("smoke-2") is not None)
        await holds(lambda: all(rig.edge.devices.record(d) for d in ("lock-2", "lock-3", "west-gate")))
        await smoke.trigger()
        await holds(lambda: (lock_2.unlocks, lock_3.unlocks, exit_gate.opens) == (1, 1, 1))
        await rig.cloud.wait_for(lambda: any(f["code"] == "smoke" for f in rig.cloud.payloads("fault")))
        # The other zone's doors stayed shut.
        assert rig.lock.unlocks == 0
        assert west_gate.opens == 0
    [fault] = [f for f in rig.cloud.payloads("fault") if f["code"] == "smoke"]
    assert (fault["severity"], fault["zone"], fault["room_id"]) == ("critical", "east", "r2")
    assert "east" in fault["message"]
    assert (await rig.edge.store.session("r2")).state is RoomState.MAINTENANCE


async def test_a_store_wide_button_without_a_zone_opens_every_door(rig: Rig) -> None:
    host, port = "127.0.0.1", rig.edge.mqtt_port
    async with (
        SimulatedMqttLock(host, port, "lock-2", relock_after_s=30) as lock_2,
        SimulatedMqttSensor(host, port, "button-1", "button") as button,
    ):
        rig.cloud.put(
            zoned_room("r1", "west"),
            zoned_room("r2", "east"),
            device_change("lock-2", "lock", "mqtt", "r2"),
            zoned_device("button-1", "sensor", "", sensor="button"),
        )
        await holds(lambda: rig.edge.devices.status("button-1") is not None)
        await holds(lambda: rig.edge.devices.record("lock-2") is not None)
        await button.trigger()
        await holds(lambda: (rig.lock.unlocks, lock_2.unlocks) == (1, 1))
        await rig.cloud.wait_for(lambda: any(f["code"] == "emergency" for f in rig.cloud.payloads("fault")))
    [fault] = [f for f in rig.cloud.payloads("fault") if f["code"] == "emergency"]
    assert (fault["severity"], fault["zone"]) == ("critical", "")
