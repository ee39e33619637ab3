"""Session timers on a FakeClock: warning, end, cleaning, reservations and restarts, with no sleeping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.clock import FakeClock
from edge.faults.model import FaultSpec
from edge.faults.services import FaultService
from edge.identity import Keyring
from edge.records import Booking, Device, Room, StoreInfo
from edge.sessions.model import (
    Move,
    RoomSession,
    RoomState,
    SessionError,
    SessionSettings,
    TimerKind,
    room_code,
)
from edge.sessions.services import SessionService
from edge.store import EdgeStore, Tx
from tests.support.waiting import eventually
from tests.unit.edge.fakes import RecordingActuators

T0 = 1_800_000_000.0
STORE_KEY = bytes(range(32))
KEYRING = Keyring("s1", {1: STORE_KEY})
BASE = SessionSettings(early_grace_s=600, warning_lead_s=300, cleaning_gap_s=1800)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(
            True,
            1,
            [
                StoreInfo("s1", early_grace_s=600),
                Room("r1"),
                Room("r2", kind="ktv", type_settings={"warning_lead_min": 10}),
                Device("scan-1", "scanner", "mqtt", "r1"),
                Device("scan-2", "scanner", "mqtt", "r2"),
            ],
        )
        yield store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def actuators() -> RecordingActuators:
    return RecordingActuators(locks={"r1": "lock-1", "r2": "lock-2"}, switches={"r1": "pw-1", "r2": "pw-2"})


def make_service(store: EdgeStore, clock: FakeClock, actuators: RecordingActuators) -> SessionService:
    faults = FaultService(store, clock, base=BASE, doors=actuators)
    return SessionService(store, clock, actuators, faults, keyring=lambda: KEYRING)


def qr(room: str, store: str = "s1", key: bytes = STORE_KEY, version: int = 1) -> str:
    """A room's printed QR, sealed with a store key."""
    return room_code(key, version, store, room)


@pytest.fixture
def sessions(store: EdgeStore, clock: FakeClock, actuators: RecordingActuators) -> SessionService:
    return make_service(store, clock, actuators)


async def events(store: EdgeStore, kind: str) -> list[dict[str, Any]]:
    return [json.loads(e.payload_json) for e in await store.outbox_after(0) if e.kind == kind]


async def check_in(sessions: SessionService, room: str = "r1", minutes: int = 60) -> RoomSession:
    return await sessions.move(room, Move.CHECK_IN, booking_ref="B1", ends_at=T0 + minutes * 60)


async def test_a_checked_in_session_has_its_warning_and_end_timers_persisted(
    sessions: SessionService, store: EdgeStore
) -> None:
    await check_in(sessions)
    timers = await store.timers("r1")
    assert [(t.kind, t.due_at) for t in timers] == [(TimerKind.WARN, T0 + 3300), (TimerKind.END, T0 + 3600)]


async def test_nothing_fires_before_its_time(
    sessions: SessionService, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(sessions)
    clock.advance(3299)
    assert await sessions.run_due() == 0
    assert actuators.flashed == []


async def test_the_warning_flashes_the_lights_tells_the_speaker_and_the_session_is_ending(
    sessions: SessionService, store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(sessions)
    clock.advance(3300)
    assert await sessions.run_due() == 1
    assert actuators.flashed == ["r1"]
    [(room, announcement)] = actuators.announced
    assert (room, announcement.kind, announcement.minutes_left) == ("r1", "session_ending", 5)
    assert (await store.session("r1")).state is RoomState.ENDING
    assert [t.kind for t in await store.timers("r1")] == [TimerKind.END]


async def test_at_the_end_power_goes_off_the_door_locks_and_the_room_waits_for_its_cleaner(
    sessions: SessionService, store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(sessions)
    clock.advance(3600)
    assert await sessions.run_due() == 2  # the warning, then the end
    assert actuators.powered == [("r1", False)]
    assert actuators.locked == ["r1"]
    session = await store.session("r1")
    assert (session.state, session.booking_ref) == (RoomState.CLEANING, "B1")
    states = [p["state"] for p in await events(store, "session") if p["room_id"] == "r1"]
    assert states == ["in_use", "ending", "cleaning"]


async def test_the_cleaners_scan_of_the_rooms_qr_frees_it(
    sessions: SessionService, store: EdgeStore, clock: FakeClock
) -> None:
    await check_in(sessions)
    clock.advance(3600)
    await sessions.run_due()
    result = await sessions.cleaned_scan(qr("r1"), "scan-1")
    assert (result.ok, result.reason) == (True, "ok")
    assert await store.session("r1") == RoomSession("r1", RoomState.FREE)
    assert await store.timers("r1") == []


@pytest.mark.parametrize(
    ("text", "device", "reason"),
    [
        ("GHROOM.s1", "scan-1", "malformed"),
        ("GHROOM.s1.r1", "scan-1", "malformed"),  # the unsealed form of old sheets
        (qr("r1", store="s2"), "scan-1", "wrong_store"),
        (qr("r1", version=2), "scan-1", "unknown_key"),
        (qr("r1", key=bytes(32)), "scan-1", "bad_signature"),
        (qr("r9"), "scan-1", "no_such_room"),
        (qr("r1"), "scan-2", "wrong_room"),
        (qr("r2"), "scan-2", "not_cleaning"),
    ],
)
async def test_a_cleaning_scan_that_cannot_apply_is_refused_with_a_reason(
    sessions: SessionService, text: str, device: str, reason: str
) -> None:
    result = await sessions.cleaned_scan(text, device)
    assert (result.ok, result.reason) == (False, reason)


async def test_cleaning_that_takes_longer_than_the_gap_tells_the_store_manager_once(
    sessions: SessionService, store: EdgeStore, clock: FakeClock
) -> None:
    await check_in(sessions)
    clock.advance(3600)
    await sessions.run_due()
    clock.advance(1800)
    assert await sessions.run_due() == 1
    [fault] = await events(store, "fault")
    assert (fault["code"], fault["severity"], fault["room_id"]) == ("cleaning_overdue", "minor", "r1")
    assert await store.timers("r1") == []
    assert (await store.session("r1")).state is RoomState.CLEANING


async def test_an_extension_moves_both_timers_and_an_ending_session_is_in_use_again(
    sessions: SessionService, store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(sessions)
    clock.advance(3300)
    await sessions.run_due()
    extended = await sessions.extend("r1", T0 + 7200, "B1")
    assert (extended.state, extended.ends_at) == (RoomState.IN_USE, T0 + 7200)
    assert [(t.kind, t.due_at) for t in await store.timers("r1")] == [
        (TimerKind.WARN, T0 + 6900),
        (TimerKind.END, T0 + 7200),
    ]
    clock.advance(300)
    assert await sessions.run_due() == 0
    assert actuators.powered == []


async def test_an_extension_of_another_booking_or_without_a_session_is_refused(
    sessions: SessionService,
) -> None:
    with pytest.raises(SessionError) as none:
        await sessions.extend("r1", T0 + 7200)
    assert none.value.code == "no_session"
    await check_in(sessions)
    with pytest.raises(SessionError) as other:
        await sessions.extend("r1", T0 + 7200, "B2")
    assert other.value.code == "wrong_booking"


async def test_the_room_types_warning_lead_beats_the_local_default(
    sessions: SessionService, store: EdgeStore
) -> None:
    await check_in(sessions, room="r2")
    [warn, _end] = await store.timers("r2")
    assert warn.due_at == T0 + 3600 - 600


async def test_timers_survive_a_restart_and_overdue_ones_run_at_once(
    tmp_path: Path, store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(make_service(store, clock, actuators))
    await store.close()
    clock.advance(4 * 3600)  # the edge was down through the end
    async with EdgeStore(store.path) as reopened:
        restarted = make_service(reopened, clock, actuators)
        assert await restarted.run_due() == 2
        assert (await reopened.session("r1")).state is RoomState.CLEANING
    assert actuators.locked == ["r1"]


async def test_a_lock_that_will_not_lock_at_the_end_is_a_critical_fault(
    sessions: SessionService, store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(sessions)
    actuators.jammed_locks.add("r1")
    clock.advance(3600)
    await sessions.run_due()
    [fault] = await events(store, "fault")
    assert (fault["device_id"], fault["code"], fault["severity"]) == ("lock-1", "jammed", "critical")
    # A jammed lock takes the room out of service rather than into cleaning.
    assert (await store.session("r1")).state is RoomState.MAINTENANCE


async def test_during_an_alarm_the_end_of_a_session_does_not_lock_the_door(
    store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    faults = FaultService(store, clock, base=BASE, doors=actuators)
    sessions = SessionService(store, clock, actuators, faults)
    await check_in(sessions, room="r2")
    await faults.alarm(FaultSpec("smoke", "smoke in the corridor", "smoke-1", "sensor", None))
    clock.advance(3600)
    await sessions.run_due()
    assert actuators.locked == []
    assert (await store.session("r2")).state is RoomState.CLEANING


def broken(tx: Tx) -> None:
    """Work added to a service's transaction that fails."""
    raise RuntimeError("the record could not be written")


async def test_work_added_to_an_extension_commits_with_it_or_not_at_all(
    sessions: SessionService, store: EdgeStore
) -> None:
    await check_in(sessions)
    with pytest.raises(RuntimeError):
        await sessions.extend("r1", T0 + 7200, also=broken)
    assert (await store.session("r1")).ends_at == T0 + 3600, "the extension rolled back with its record"
    await sessions.extend("r1", T0 + 7200, also=lambda tx: tx.set_meta("recorded", "extend"))
    assert (await store.session("r1")).ends_at == T0 + 7200
    assert await store.read(lambda tx: tx.meta("recorded")) == "extend"


async def test_work_added_to_marking_a_room_cleaned_commits_with_it_or_not_at_all(
    sessions: SessionService, store: EdgeStore, clock: FakeClock
) -> None:
    await check_in(sessions)
    clock.advance(3600)
    await sessions.run_due()
    with pytest.raises(RuntimeError):
        await sessions.mark_cleaned("r1", also=broken)
    assert (await store.session("r1")).state is RoomState.CLEANING
    cleaned = await sessions.mark_cleaned("r1", also=lambda tx: tx.set_meta("recorded", "cleaned"))
    assert cleaned.ok and (await store.session("r1")).state is RoomState.FREE
    assert await store.read(lambda tx: tx.meta("recorded")) == "cleaned"


async def test_an_alarm_in_another_zone_does_not_keep_a_rooms_door_unlocked(
    store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await store.apply_store_data(
        False,
        2,
        [
            Room("r1", zone="Floor 1"),
            Room("r2", zone="Floor 2"),
            Device("smoke-2", "sensor", "mqtt", "r2"),
        ],
    )
    faults = FaultService(store, clock, base=BASE, doors=actuators)
    sessions = SessionService(store, clock, actuators, faults)
    await sessions.move("r1", Move.CHECK_IN, booking_ref="B1", ends_at=T0 + 3600)
    await sessions.move("r2", Move.CHECK_IN, booking_ref="B2", ends_at=T0 + 3600)
    outcome = await faults.alarm(FaultSpec("smoke", "smoke on floor 2", "smoke-2", "sensor", "r2"))
    assert outcome.zone == "Floor 2"
    clock.advance(3600)
    await sessions.run_due()
    assert actuators.locked == ["r1"], "floor 2's door stays open for the alarm, floor 1's locks"
    assert outcome.fault is not None
    await faults.resolve(outcome.fault.id)
    assert not await faults.alarm_active()


async def test_a_free_room_is_held_for_its_booking_once_the_window_opens_and_released_if_cancelled(
    sessions: SessionService, store: EdgeStore, clock: FakeClock
) -> None:
    start = int(T0) + 3600
    await store.apply_store_data(False, 2, [Booking("B7", "r1", start, start + 3600)])
    assert await sessions.reconcile() == start - 600
    assert (await store.session("r1")).state is RoomState.FREE
    clock.set(start - 600)
    await sessions.reconcile()
    held = await store.session("r1")
    assert (held.state, held.booking_ref) == (RoomState.RESERVED, "B7")
    await store.apply_store_data(False, 3, [Booking("B7", "r1", start, start + 3600, status="cancelled")])
    await sessions.reconcile()
    assert (await store.session("r1")).state is RoomState.FREE


async def test_a_reservation_nobody_redeems_is_released_at_the_bookings_end(
    sessions: SessionService, store: EdgeStore, clock: FakeClock
) -> None:
    await store.apply_store_data(False, 2, [Booking("B7", "r1", int(T0), int(T0) + 3600)])
    await sessions.reconcile()
    clock.advance(3600)
    assert await sessions.run_due() == 1
    assert (await store.session("r1")).state is RoomState.FREE


async def test_an_extension_from_the_cloud_moves_a_running_sessions_end(
    sessions: SessionService, store: EdgeStore
) -> None:
    await store.apply_store_data(False, 2, [Booking("B1", "r1", int(T0), int(T0) + 3600)])
    await check_in(sessions)
    await store.apply_store_data(False, 3, [Booking("B1", "r1", int(T0), int(T0) + 5400)])
    await sessions.reconcile()
    assert (await store.session("r1")).ends_at == T0 + 5400


async def test_a_timer_of_an_earlier_session_does_nothing_to_the_next_one(
    sessions: SessionService, store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    await check_in(sessions)
    [_warn, end] = await store.timers("r1")
    await sessions.move("r1", Move.FAULT)
    await sessions.move("r1", Move.RESTORE)
    await sessions.move("r1", Move.CHECK_IN, booking_ref="B2", ends_at=T0 + 9000)
    # An old timer row put back by hand (as a crash half way could leave it) is recognised as stale.
    await store.transact(lambda tx: tx.put_timer(end))
    clock.advance(3600)
    await sessions.run_due()
    assert actuators.powered == []
    assert (await store.session("r1")).booking_ref == "B2"


async def test_the_loop_wakes_when_the_clock_moves(
    sessions: SessionService, store: EdgeStore, clock: FakeClock
) -> None:
    await check_in(sessions)
    task = asyncio.create_task(sessions.run())
    try:
        clock.advance(3600)

        async def cleaning() -> bool:
            return (await store.session("r1")).state is RoomState.CLEANING

        await eventually(cleaning, timeout=5, what="the end timer to run")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_an_edge_not_yet_enrolled_refuses_a_room_qr_for_want_of_keys(
    store: EdgeStore, clock: FakeClock, actuators: RecordingActuators
) -> None:
    faults = FaultService(store, clock, base=BASE, doors=actuators)
    sessions = SessionService(store, clock, actuators, faults)
    result = await sessions.cleaned_scan(qr("r1"), "scan-1")
    assert (result.ok, result.reason) == (False, "unknown_key")
