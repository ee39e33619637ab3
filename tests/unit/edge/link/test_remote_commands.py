"""Remote commands: occupied rooms (refused unless forced, journalled), extend, print, resolve."""

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
from edge.link.commands import CommandReply, CommandRequest, CommandRunner
from edge.records import Room, StoreInfo
from edge.sessions.model import Move, RoomState
from edge.sessions.services import SessionService
from edge.store import EdgeStore
from tests.unit.edge.fakes import RecordingActuators

T0 = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(True, 1, [StoreInfo("s1"), Room("r1"), Room("r2")])
        yield store


@pytest.fixture
def actuators() -> RecordingActuators:
    return RecordingActuators(
        locks={"r1": "lock-1", "r2": "lock-2"}, switches={"r1": "pw-1"}, printers={"": "bar-printer"}
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def faults(store: EdgeStore, clock: FakeClock, actuators: RecordingActuators) -> FaultService:
    return FaultService(store, clock, doors=actuators)


@pytest.fixture
def sessions(
    store: EdgeStore, clock: FakeClock, actuators: RecordingActuators, faults: FaultService
) -> SessionService:
    return SessionService(store, clock, actuators, faults)


@pytest.fixture
async def runner(
    store: EdgeStore,
    clock: FakeClock,
    actuators: RecordingActuators,
    sessions: SessionService,
    faults: FaultService,
) -> CommandRunner:
    await sessions.move("r1", Move.CHECK_IN, booking_ref="B1", ends_at=T0 + 3600)
    return CommandRunner(store, actuators, clock, sessions=sessions, faults=faults, printer=actuators)


async def run(runner: CommandRunner, cid: str, kind: str, **args: Any) -> CommandReply:
    return await runner.run(CommandRequest(cid, kind, 0, json.dumps(args)))


@pytest.mark.parametrize(("kind", "args"), [("unlock", {}), ("power", {"on": False})])
async def test_a_room_in_another_customers_session_is_refused_as_occupied(
    runner: CommandRunner, actuators: RecordingActuators, kind: str, args: dict[str, Any]
) -> None:
    reply = await run(runner, "c1", kind, room_id="r1", **args)
    assert (reply.ok, reply.code) == (False, "room_occupied")
    assert actuators.unlocked == [] and actuators.powered == []


async def test_the_occupants_own_request_goes_through(
    runner: CommandRunner, actuators: RecordingActuators
) -> None:
    reply = await run(runner, "c1", "unlock", room_id="r1", booking_ref="B1")
    assert reply.ok
    assert actuators.unlocked == ["r1"]


async def test_a_force_needs_a_reason(runner: CommandRunner, actuators: RecordingActuators) -> None:
    reply = await run(runner, "c1", "unlock", room_id="r1", force=True, reason="  ")
    assert (reply.ok, reply.code) == (False, "reason_required")
    assert actuators.unlocked == []


async def test_hq_forcing_with_a_reason_opens_the_door_and_both_are_journalled(
    runner: CommandRunner, store: EdgeStore, actuators: RecordingActuators
) -> None:
    reply = await run(runner, "c9", "unlock", room_id="r1", force=True, reason="guest unwell, no answer")
    assert reply.ok
    assert json.loads(reply.result_json) == {"room_id": "r1", "device_id": "lock-1", "forced": True}
    entries = await store.journal()
    assert verify(entries).ok
    assert [e.kind for e in entries] == ["forced_command", "door_open"]
    forced, door = (json.loads(e.payload_json) for e in entries)
    assert forced == {
        "command_id": "c9",
        "kind": "unlock",
        "room_id": "r1",
        "reason": "guest unwell, no answer",
        "occupant": "B1",
    }
    assert (door["cause"], door["forced"], door["command_id"]) == ("remote", True, "c9")


async def test_a_free_room_needs_no_force(runner: CommandRunner, actuators: RecordingActuators) -> None:
    assert (await run(runner, "c1", "unlock", room_id="r2")).ok


async def test_extend_by_minutes_moves_the_sessions_end(runner: CommandRunner, store: EdgeStore) -> None:
    reply = await run(runner, "c1", "extend", room_id="r1", minutes=30, booking_ref="B1")
    assert reply.ok
    assert json.loads(reply.result_json)["ends_at"] == T0 + 5400
    assert (await store.session("r1")).ends_at == T0 + 5400


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"room_id": "r2", "minutes": 30}, "no_session"),
        ({"room_id": "r1", "ends_at": T0 + 60}, "not_later"),
        ({"room_id": "r1", "minutes": 30, "booking_ref": "B2"}, "wrong_booking"),
        ({"room_id": "r1"}, "bad_args"),
        ({"room_id": "r1", "minutes": 60 * 48}, "bad_args"),
    ],
)
async def test_an_extension_that_cannot_apply_answers_a_stable_code(
    runner: CommandRunner, args: dict[str, Any], code: str
) -> None:
    reply = await run(runner, "c1", "extend", **args)
    assert (reply.ok, reply.code) == (False, code)


async def test_print_goes_to_the_stores_printer_and_without_one_says_so(
    runner: CommandRunner, actuators: RecordingActuators
) -> None:
    reply = await run(runner, "c1", "print", text="Order 12: 2 teas")
    assert (reply.ok, json.loads(reply.result_json)) == (True, {"printer_id": "bar-printer"})
    actuators.printers.clear()
    assert (await run(runner, "c2", "print", text="x")).code == "no_printer"
    assert (await run(runner, "c3", "print", text="")).code == "bad_args"


async def test_resolving_a_fault_returns_the_room_to_service(
    runner: CommandRunner, faults: FaultService, store: EdgeStore
) -> None:
    fault = await faults.raise_fault(FaultSpec("jammed", "stuck", "lock-2", "lock", "r2"))
    assert fault is not None
    assert (await store.session("r2")).state is RoomState.MAINTENANCE
    reply = await run(runner, "c1", "resolve_fault", room_id="r2", fault_id=fault.id)
    assert reply.ok
    assert json.loads(reply.result_json) == {
        "fault_id": fault.id,
        "known": True,
        "room_id": "r2",
        "room_state": "free",
    }
    again = await run(runner, "c1", "resolve_fault", room_id="r2", fault_id=fault.id)
    assert again == reply
