"""Redemption writes its journal entries and session timers in the same transaction as the redemption."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.clock import FakeClock
from edge.faults.services import FaultService
from edge.identity import Keyring
from edge.journal.model import verify
from edge.records import Booking, Device, Room, StoreInfo
from edge.redemption import Outcome, RedemptionService
from edge.sessions.model import RoomState, TimerKind
from edge.sessions.services import SessionService
from edge.store import EdgeStore
from protos.codes import code_at
from tests.unit.edge.fakes import RecordingActuators

KEY = bytes(range(32))
START = 1_800_000_000 - 1_800_000_000 % 60
END = START + 3600


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(
            True,
            1,
            [
                StoreInfo("s1"),
                Room("r1"),
                Device("scan-1", "scanner", "mqtt", "r1"),
                Booking("B1", "r1", START, END),
            ],
        )
        yield store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START + 60)


@pytest.fixture
def actuators() -> RecordingActuators:
    return RecordingActuators(locks={"r1": "lock-1"}, switches={"r1": "pw-1"})


@pytest.fixture
def services(
    store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> tuple[RedemptionService, SessionService]:
    faults = FaultService(store, clock, doors=actuators)
    sessions = SessionService(store, clock, actuators, faults)
    redemption = RedemptionService(
        store, actuators, clock, lambda: Keyring("s1", {1: KEY}), faults=faults, locks=sessions.locks
    )
    return redemption, sessions


def code(clock: FakeClock) -> str:
    return code_at(KEY, 1, "s1", "B1", "r1", START, END, clock.now())


async def test_a_redemption_and_each_door_opening_are_journalled(
    services: tuple[RedemptionService, SessionService], store: EdgeStore, clock: FakeClock
) -> None:
    redemption, _ = services
    await redemption.redeem_code(code(clock), "scan-1")
    await redemption.redeem_code(code(clock), "scan-1")
    entries = await store.journal()
    assert verify(entries).ok
    assert [e.kind for e in entries] == ["redemption", "door_open", "door_open"]
    assert [json.loads(e.payload_json)["cause"] for e in entries[1:]] == ["redemption", "reentry"]


async def test_a_redemption_schedules_the_sessions_timers(
    services: tuple[RedemptionService, SessionService], store: EdgeStore, clock: FakeClock
) -> None:
    redemption, _ = services
    await redemption.redeem_code(code(clock), "scan-1")
    assert [(t.kind, t.due_at) for t in await store.timers("r1")] == [
        (TimerKind.WARN, END - 300),
        (TimerKind.END, END),
    ]


async def test_after_an_extension_the_guests_code_still_reopens_the_door_past_the_booked_end(
    services: tuple[RedemptionService, SessionService], store: EdgeStore, clock: FakeClock
) -> None:
    redemption, sessions = services
    await redemption.redeem_code(code(clock), "scan-1")
    await sessions.extend("r1", END + 1800)
    clock.set(END + 60)
    result = await redemption.redeem_code(code(clock), "scan-1")
    assert (result.ok, result.outcome) == (True, Outcome.REENTRY)


async def test_a_room_being_cleaned_refuses_the_next_guest_until_the_cleaner_is_done(
    services: tuple[RedemptionService, SessionService], store: EdgeStore, clock: FakeClock
) -> None:
    redemption, sessions = services
    await redemption.redeem_code(code(clock), "scan-1")
    clock.set(END)
    await sessions.run_due()
    assert (await store.session("r1")).state is RoomState.CLEANING
    await store.apply_store_data(False, 2, [Booking("B2", "r1", END, END + 3600)])
    text = code_at(KEY, 1, "s1", "B2", "r1", END, END + 3600, clock.now())
    assert (await redemption.redeem_code(text, "scan-1")).reason == "room_unavailable"
