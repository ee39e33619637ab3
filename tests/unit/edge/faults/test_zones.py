"""Alarm zones: which zone a trigger alarms, which doors open, which rooms are warned (pure rules)."""

from __future__ import annotations

from edge.faults.model import FaultSpec, Placed, alarm_doors, alarm_rooms, alarm_zone

ROOMS = {"r1": "floor-1", "r2": "floor-2", "r3": "floor-2", "r4": ""}
DEVICES = [
    Placed("lock-1", "r1"),
    Placed("lock-2", "r2"),
    Placed("lock-3", "r3"),
    Placed("lock-4", "r4"),
    Placed("smoke-2", "r2"),
    Placed("button-hall", None, "floor-1"),
    Placed("gate-1", None, ""),
    Placed("gate-2", None, "floor-2"),
]


def smoke(device_id: str | None = None, room_id: str | None = None) -> FaultSpec:
    return FaultSpec("smoke", "smoke", device_id, "sensor", room_id)


def test_a_sensor_in_a_room_alarms_that_rooms_zone() -> None:
    assert alarm_zone(smoke("smoke-2", "r2"), ROOMS, DEVICES) == "floor-2"
    # A room sensor's report without its room still finds the zone through the device record.
    assert alarm_zone(smoke("smoke-2"), ROOMS, DEVICES) == "floor-2"


def test_a_store_wide_sensor_alarms_its_own_zone() -> None:
    assert alarm_zone(smoke("button-hall"), ROOMS, DEVICES) == "floor-1"


def test_no_zone_anywhere_alarms_the_whole_store() -> None:
    assert alarm_zone(smoke("gate-1"), ROOMS, DEVICES) == ""
    assert alarm_zone(smoke(None, "r4"), ROOMS, DEVICES) == ""
    assert alarm_zone(smoke("unknown"), ROOMS, DEVICES) == ""
    assert alarm_zone(smoke(), ROOMS, DEVICES) == ""
    assert alarm_doors("", DEVICES, ROOMS) is None


def test_a_zone_opens_its_doors_and_the_unzoned_shared_exits_only() -> None:
    east = alarm_doors("floor-2", DEVICES, ROOMS)
    west = alarm_doors("floor-1", DEVICES, ROOMS)
    assert east == frozenset({"lock-2", "lock-3", "smoke-2", "gate-2", "lock-4", "gate-1"})
    assert west == frozenset({"lock-1", "button-hall", "lock-4", "gate-1"})


def test_a_zone_alarm_warns_its_rooms_and_the_whole_store_alarm_warns_all() -> None:
    assert alarm_rooms("floor-2", ROOMS) == ["r2", "r3", "r4"]
    assert alarm_rooms("", ROOMS) == ["r1", "r2", "r3", "r4"]
