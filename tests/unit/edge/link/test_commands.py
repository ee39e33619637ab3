"""Cloud commands at the edge: unlock and power, deadlines, and replays that return the first result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.clock import FakeClock
from edge.link.commands import CommandReply, CommandRequest, CommandRunner
from edge.records import Room
from edge.store import EdgeStore
from tests.unit.edge.fakes import RecordingActuators

NOW = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(True, 1, [Room("r1"), Room("r2")])
        yield store


@pytest.fixture
def actuators() -> RecordingActuators:
    return RecordingActuators(locks={"r1": "lock-1"}, switches={"r1": "pw-1"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def runner(store: EdgeStore, actuators: RecordingActuators, clock: FakeClock) -> CommandRunner:
    return CommandRunner(store, actuators, clock)


def command(cid: str, kind: str, args: dict[str, object], deadline_ms: int = 0) -> CommandRequest:
    return CommandRequest(cid, kind, deadline_ms, json.dumps(args))


async def test_a_remote_unlock_opens_the_rooms_lock(
    runner: CommandRunner, actuators: RecordingActuators
) -> None:
    reply = await runner.run(command("c1", "unlock", {"room_id": "r1"}))
    assert (reply.ok, reply.code) == (True, "ok")
    assert json.loads(reply.result_json) == {"room_id": "r1", "device_id": "lock-1"}
    assert actuators.unlocked == ["r1"]


async def test_a_replayed_command_returns_the_first_result_with_no_second_effect(
    runner: CommandRunner, actuators: RecordingActuators
) -> None:
    first = await runner.run(command("c1", "unlock", {"room_id": "r1"}))
    again = await runner.run(command("c1", "unlock", {"room_id": "r1"}))
    assert again == first
    assert actuators.unlocked == ["r1"]


async def test_a_replay_arriving_while_the_first_runs_waits_for_it(
    runner: CommandRunner, actuators: RecordingActuators
) -> None:
    replies = await asyncio.gather(
        *(runner.run(command("c1", "power", {"room_id": "r1", "on": True})) for _ in range(3))
    )
    assert all(r == replies[0] and r.ok for r in replies)
    assert actuators.powered == [("r1", True)]


async def test_a_replay_after_a_restart_returns_the_stored_result(
    tmp_path: Path, actuators: RecordingActuators, clock: FakeClock
) -> None:
    async with EdgeStore(tmp_path / "a.db") as store:
        await store.apply_store_data(True, 1, [Room("r1")])
        first = await CommandRunner(store, actuators, clock).run(command("c1", "unlock", {"room_id": "r1"}))
    async with EdgeStore(tmp_path / "a.db") as store:
        again = await CommandRunner(store, actuators, clock).run(command("c1", "unlock", {"room_id": "r1"}))
    assert again == first
    assert actuators.unlocked == ["r1"]


async def test_power_switches_the_room(runner: CommandRunner, actuators: RecordingActuators) -> None:
    reply = await runner.run(command("c2", "power", {"room_id": "r1", "on": False}))
    assert reply.ok
    assert actuators.powered == [("r1", False)]


async def test_a_command_past_its_deadline_is_refused_without_effect(
    runner: CommandRunner, actuators: RecordingActuators, clock: FakeClock
) -> None:
    reply = await runner.run(command("c3", "unlock", {"room_id": "r1"}, deadline_ms=int(NOW * 1000) - 1))
    assert (reply.ok, reply.code) == (False, "deadline_exceeded")
    assert actuators.unlocked == []


async def test_a_command_exactly_at_its_deadline_still_runs(runner: CommandRunner, clock: FakeClock) -> None:
    reply = await runner.run(command("c3", "unlock", {"room_id": "r1"}, deadline_ms=int(NOW * 1000)))
    assert reply.ok


@pytest.mark.parametrize(
    ("kind", "args", "code"),
    [
        ("unlock", {"room_id": "nope"}, "no_such_room"),
        ("unlock", {"room_id": "r2"}, "device_failed"),
        ("power", {"room_id": "r1"}, "bad_args"),
        ("unlock", {}, "bad_args"),
        ("reboot", {}, "unknown_command"),
    ],
)
async def test_commands_that_cannot_run_answer_a_stable_code(
    runner: CommandRunner, kind: str, args: dict[str, object], code: str
) -> None:
    reply = await runner.run(command("c4", kind, args))
    assert (reply.ok, reply.code) == (False, code)


async def test_a_failing_lock_answers_device_failed(
    runner: CommandRunner, actuators: RecordingActuators
) -> None:
    actuators.broken_locks.add("r1")
    reply = await runner.run(command("c5", "unlock", {"room_id": "r1"}))
    assert reply == CommandReply("c5", False, "device_failed", reply.message, "{}")
    assert "timeout" in reply.message


async def test_args_that_are_not_json_are_bad_args(runner: CommandRunner) -> None:
    reply = await runner.run(CommandRequest("c6", "unlock", 0, "{nope"))
    assert reply.code == "bad_args"
