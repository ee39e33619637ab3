"""Faults at the edge: once per device and code, maintenance for the room, resolution, and alarms."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.clock import FakeClock
from edge.faults.model import FaultSpec
from edge.faults.services import FaultService
from edge.journal.model import verify
from edge.records import Device, Room, StoreInfo
from edge.sessions.model import Move, RoomState
from edge.sessions.services import SessionService
from edge.store import EdgeStore, Tx
from tests.unit.edge.fakes import RecordingActuators

T0 = 1_800_000_000.0
JAM = FaultSpec("jammed", "bolt stuck", "lock-1", "lock", "r1")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(True, 1, [StoreInfo("s1"), Room("r1"), Room("r2"), Room("r3")])
        yield store


@pytest.fixture
def actuators() -> RecordingActuators:
    return RecordingActuators(locks={"r1": "lock-1", "r2": "lock-2", "r3": "lock-3"})


@pytest.fixture
def faults(store: EdgeStore, actuators: RecordingActuators) -> FaultService:
    return FaultService(store, FakeClock(T0), doors=actuators)


async def outbox(store: EdgeStore) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, json.loads(e.payload_json)) for e in await store.outbox_after(0)]


async def test_a_jammed_lock_is_one_critical_fault_and_takes_its_room_out_of_service(
    faults: FaultService, store: EdgeStore
) -> None:
    first = await faults.raise_fault(JAM)
    again = await faults.raise_fault(JAM)
    assert first is not None and again is None
    assert (await store.session("r1")).state is RoomState.MAINTENANCE
    assert [k for k, _ in await outbox(store)] == ["fault", "session"]
    [(_, payload)] = [e for e in await outbox(store) if e[0] == "fault"]
    assert (payload["fault_id"], payload["severity"]) == (first.id, "critical")


async def test_a_minor_fault_leaves_the_room_in_service(faults: FaultService, store: EdgeStore) -> None:
    await faults.raise_fault(FaultSpec("timeout", "light", "pw-1", "power", "r1"))
    assert (await store.session("r1")).state is RoomState.FREE


async def test_resolving_returns_the_room_to_service_only_when_nothing_critical_stays_open(
    faults: FaultService, store: EdgeStore
) -> None:
    jam = await faults.raise_fault(JAM)
    offline = await faults.raise_fault(FaultSpec("offline", "silent", "lock-1", "lock", "r1"))
    assert jam is not None and offline is not None
    first = await faults.resolve(jam.id, "r1")
    assert (first.known, first.room_state) == (True, RoomState.MAINTENANCE)
    second = await faults.resolve(offline.id, "r1")
    assert second.room_state is RoomState.FREE
    again = await faults.resolve(offline.id, "r1")
    assert again.room_state is RoomState.FREE
    # Resolved, the same fault may be raised again.
    assert await faults.raise_fault(JAM) is not None


async def test_work_added_to_a_resolution_commits_with_it_or_not_at_all(
    faults: FaultService, store: EdgeStore
) -> None:
    jam = await faults.raise_fault(JAM)
    assert jam is not None

    def broken(tx: Tx) -> None:
        raise RuntimeError("the record could not be written")

    with pytest.raises(RuntimeError):
        await faults.resolve(jam.id, "r1", also=broken)
    assert (await store.session("r1")).state is RoomState.MAINTENANCE, "nothing was resolved"
    await faults.resolve(jam.id, "r1", also=lambda tx: tx.set_meta("recorded", jam.id))
    assert (await store.session("r1")).state is RoomState.FREE
    assert await store.read(lambda tx: tx.meta("recorded")) == jam.id


async def test_resolving_a_fault_this_edge_never_saw_still_restores_its_room(
    faults: FaultService, store: EdgeStore
) -> None:
    sessions = SessionService(store, FakeClock(T0), RecordingActuators(), faults)
    await sessions.move("r2", Move.FAULT)
    resolution = await faults.resolve("unknown-fault", "r2")
    assert (resolution.known, resolution.room_state) == (False, RoomState.FREE)


async def test_smoke_unlocks_every_door_at_once_journals_it_and_alerts_every_room(
    faults: FaultService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    actuators.broken_locks.add("r3")
    outcome = await faults.alarm(FaultSpec("smoke", "smoke in r2", "smoke-2", "sensor", "r2"))
    assert sorted(outcome.opened) == ["lock-1", "lock-2"]
    assert outcome.failed == ("lock-3",)
    assert sorted(actuators.unlocked) == ["r1", "r2"]
    assert {room for room, a in actuators.announced if a.kind == "alarm"} == {"r1", "r2", "r3"}
    assert await faults.alarm_active()
    faults_raised = [p for k, p in await outbox(store) if k == "fault"]
    assert sorted((f["code"], f["device_id"]) for f in faults_raised) == [
        ("smoke", "smoke-2"),
        ("timeout", "lock-3"),
    ]
    entries = await store.journal()
    assert verify(entries).ok
    assert [e.kind for e in entries] == ["alarm", "door_open", "door_open"]
    assert outcome.fault is not None
    await faults.resolve(outcome.fault.id)
    assert not await faults.alarm_active()


async def test_only_smoke_and_emergency_are_alarms(faults: FaultService) -> None:
    with pytest.raises(ValueError):
        await faults.alarm(JAM)


async def test_smoke_in_a_zoned_room_opens_only_its_zone_and_names_the_zone(tmp_path: Path) -> None:
    actuators = RecordingActuators(locks={"r1": "lock-1", "r2": "lock-2", "r3": "lock-3"})
    async with EdgeStore(tmp_path / "zoned.db") as store:
        await store.apply_store_data(
            True,
            1,
            [
                StoreInfo("s1"),
                Room("r1", zone="floor-1"),
                Room("r2", zone="floor-2"),
                Room("r3", zone="floor-2"),
                Device("lock-1", "lock", "mqtt", "r1"),
                Device("lock-2", "lock", "mqtt", "r2"),
                Device("lock-3", "lock", "mqtt", "r3"),
                Device("smoke-3", "sensor", "mqtt", "r3", {"sensor": "smoke"}),
            ],
        )
        faults = FaultService(store, FakeClock(T0), doors=actuators)
        outcome = await faults.alarm(FaultSpec("smoke", "smoke sensor triggered", "smoke-3", "sensor", "r3"))
        assert outcome.zone == "floor-2"
        assert sorted(outcome.opened) == ["lock-2", "lock-3"]
        assert sorted(actuators.unlocked) == ["r2", "r3"]
        assert sorted(room for room, a in actuators.announced if a.kind == "alarm") == ["r2", "r3"]
        [fault] = [p for k, p in await outbox(store) if k == "fault"]
        assert (fault["severity"], fault["zone"]) == ("critical", "floor-2")
        assert "floor-2" in fault["message"]
        [entry] = [e for e in await store.journal() if e.kind == "alarm"]
        assert json.loads(entry.payload_json)["zone"] == "floor-2"

        # The panel's button with no room still opens every door of the store.
        everything = await faults.alarm(FaultSpec("emergency", "from the panel", None, "panel", None))
        assert everything.zone == ""
        assert sorted(everything.opened) == ["lock-1", "lock-2", "lock-3"]
