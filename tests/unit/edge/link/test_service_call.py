"""A customer's call at the edge: the `service_call` command's args, kept once per call id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.clock import FakeClock
from edge.link.commands import CommandRefused, CommandRequest, CommandRunner, parse_service_call
from edge.records import Room
from edge.store import EdgeStore
from tests.unit.edge.fakes import RecordingActuators

NOW = 1_800_000_000.0
GOOD = {"room_id": "r1", "reason": "order_bar", "note": "two teas", "call_id": "sc-1"}


def test_good_args_are_kept_with_a_tidy_note() -> None:
    call = parse_service_call({**GOOD, "note": " two\n\tteas  "})
    assert (call.call_id, call.room_id, call.reason, call.note) == ("sc-1", "r1", "order_bar", "two teas")
    assert parse_service_call({k: v for k, v in GOOD.items() if k != "note"}).note == ""


@pytest.mark.parametrize(
    "change",
    [
        {"call_id": None},
        {"call_id": ""},
        {"call_id": "x" * 65},
        {"room_id": None},
        {"room_id": 7},
        {"reason": "free_beer"},
        {"reason": None},
        {"note": "x" * 201},
        {"note": 12},
    ],
)
def test_bad_args_are_refused_with_bad_args(change: dict[str, Any]) -> None:
    with pytest.raises(CommandRefused) as caught:
        parse_service_call({**GOOD, **change})
    assert caught.value.code == "bad_args"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(True, 1, [Room("r1", "Tea 1")])
        yield store


def request(cid: str, args: dict[str, Any]) -> CommandRequest:
    return CommandRequest(cid, "service_call", 0, json.dumps(args))


async def test_a_call_is_kept_once_even_when_a_second_command_carries_it(store: EdgeStore) -> None:
    runner = CommandRunner(store, RecordingActuators(), FakeClock(NOW))
    first = await runner.run(request("c1", GOOD))
    again = await runner.run(request("c2", GOOD))
    assert (first.ok, first.code) == (True, "ok")
    assert json.loads(first.result_json) == {
        "call_id": "sc-1",
        "room_id": "r1",
        "received_at": NOW,
        "repeat": False,
    }
    assert again.ok and json.loads(again.result_json)["repeat"] is True
    assert [c.id for c in await store.open_service_calls()] == ["sc-1"]
    assert [e.kind for e in await store.outbox_after(0)] == ["service_call"]
    assert [e.kind for e in await store.journal()] == ["service_call"]


async def test_a_call_for_a_room_the_store_lacks_is_refused(store: EdgeStore) -> None:
    runner = CommandRunner(store, RecordingActuators(), FakeClock(NOW))
    reply = await runner.run(request("c1", {**GOOD, "room_id": "r9"}))
    assert (reply.ok, reply.code) == (False, "no_such_room")
    assert await store.open_service_calls() == []


async def test_calls_and_their_done_marks_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    async with EdgeStore(path) as store:
        await store.apply_store_data(True, 1, [Room("r1", "Tea 1")])
        runner = CommandRunner(store, RecordingActuators(), FakeClock(NOW))
        await runner.run(request("c1", GOOD))
        await runner.run(request("c2", {**GOOD, "call_id": "sc-2", "reason": "broken"}))
        assert await store.transact(lambda tx: tx.finish_service_call("sc-1", NOW + 60, "desk"))
    async with EdgeStore(path) as store:
        assert [c.id for c in await store.open_service_calls()] == ["sc-2"]
        done = await store.service_call("sc-1")
        assert done is not None and (done.done_at, done.done_by) == (NOW + 60, "desk")
        again = await CommandRunner(store, RecordingActuators(), FakeClock(NOW)).run(request("c1", GOOD))
        assert again.ok and [c.id for c in await store.open_service_calls()] == ["sc-2"]
