"""The redemption service: what a scan does to the door, the local state and the outbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.clock import FakeClock
from edge.identity import Keyring
from edge.records import Booking, Device, Room, StoreInfo
from edge.redemption import Outcome, RedemptionService
from edge.sessions.model import RoomState
from edge.store import EdgeStore
from protos.codes import code_at
from tests.support.waiting import eventually
from tests.unit.edge.fakes import RecordingActuators

STORE_KEY = bytes(range(32))
START = 1_800_000_000 - 1_800_000_000 % 60
END = START + 7200
BOOKING = Booking("B1", "r1", START, END, "ORD-1", "1234")


def code(
    ref: str = "B1", room: str = "r1", now: float = START + 60, store: str = "s1", key: bytes = STORE_KEY
) -> str:
    return code_at(key, 1, store, ref, room, START, END, now)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.apply_store_data(
            True,
            1,
            [
                StoreInfo("s1", early_grace_s=600),
                Room("r1"),
                Room("r2"),
                Device("scan-1", "scanner", "mqtt", "r1"),
                Device("scan-gate", "scanner", "mqtt", None),
                BOOKING,
            ],
        )
        yield store


@pytest.fixture
def actuators() -> RecordingActuators:
    return RecordingActuators(locks={"r1": "lock-1", "r2": "lock-2"}, switches={"r1": "pw-1"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START + 60)


@pytest.fixture
def service(store: EdgeStore, actuators: RecordingActuators, clock: FakeClock) -> RedemptionService:
    return RedemptionService(store, actuators, clock, lambda: Keyring("s1", {1: STORE_KEY}))


async def events(store: EdgeStore) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, json.loads(e.payload_json)) for e in await store.outbox_after(0)]


async def test_a_valid_scan_opens_the_door_powers_the_room_and_records_once(
    service: RedemptionService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    result = await service.redeem_code(code(), "scan-1")
    assert (result.ok, result.outcome, result.known) == (True, Outcome.REDEEMED, True)
    assert actuators.unlocked == ["r1"]
    assert actuators.powered == [("r1", True)]
    session = await store.session("r1")
    assert (session.state, session.booking_ref, session.ends_at) == (RoomState.IN_USE, "B1", END)
    assert (await store.redemption("B1")) is not None
    assert await events(store) == [
        (
            "redemption",
            {
                "booking_ref": "B1",
                "room_id": "r1",
                "method": "code",
                "known": True,
                "key_version": 1,
                "device_id": "scan-1",
            },
        ),
        ("session", {"room_id": "r1", "booking_ref": "B1", "state": "in_use"}),
    ]


async def test_a_rescan_is_a_reentry_with_no_second_redemption(
    service: RedemptionService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    await service.redeem_code(code(), "scan-1")
    again = await service.redeem_code(code(), "scan-1")
    assert (again.ok, again.outcome) == (True, Outcome.REENTRY)
    assert actuators.unlocked == ["r1", "r1"]
    kinds = [k for k, _ in await events(store)]
    assert kinds == ["redemption", "session", "reentry"]


async def test_two_scans_at_once_redeem_only_once(service: RedemptionService, store: EdgeStore) -> None:
    results = await asyncio.gather(
        service.redeem_code(code(), "scan-1"), service.redeem_code(code(), "scan-gate")
    )
    assert sorted(r.outcome for r in results) == [Outcome.REDEEMED, Outcome.REENTRY]
    assert [k for k, _ in await events(store)].count("redemption") == 1


async def test_a_door_that_does_not_open_leaves_the_booking_unredeemed_and_raises_a_fault(
    service: RedemptionService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    actuators.broken_locks.add("r1")
    result = await service.redeem_code(code(), "scan-1")
    assert (result.ok, result.reason) == (False, "device_failed")
    assert await store.redemption("B1") is None
    assert (await store.session("r1")).state is RoomState.FREE
    assert actuators.powered == []
    (refused, fault) = await events(store)
    assert refused == (
        "redemption_refused",
        {"reason": "device_failed", "room_id": "r1", "booking_ref": "B1", "device_id": "scan-1"},
    )
    assert fault[0] == "fault"
    assert fault[1]["severity"] == "critical"
    assert (fault[1]["device_id"], fault[1]["code"]) == ("lock-1", "timeout")


async def test_a_power_failure_still_lets_the_guest_in_and_raises_a_minor_fault(
    service: RedemptionService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    actuators.broken_switches.add("r1")
    result = await service.redeem_code(code(), "scan-1")
    assert result.ok
    faults = [p for k, p in await events(store) if k == "fault"]
    assert [(f["device_id"], f["severity"]) for f in faults] == [("pw-1", "minor")]


class SlowPower(RecordingActuators):
    """A power switch that answers only when the test lets it."""

    def __init__(self) -> None:
        super().__init__(locks={"r1": "lock-1"}, switches={"r1": "pw-1"})
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def power_room(self, room_id: str, on: bool) -> str | None:
        self.asked.set()
        await self.answer.wait()
        return await super().power_room(room_id, on)


async def test_the_redemption_commits_while_the_power_switches_on(store: EdgeStore, clock: FakeClock) -> None:
    slow = SlowPower()
    service = RedemptionService(store, slow, clock, lambda: Keyring("s1", {1: STORE_KEY}))
    redeeming = asyncio.create_task(service.redeem_code(code(), "scan-1"))
    await slow.asked.wait()

    async def committed() -> bool:
        return await store.redemption("B1") is not None

    # The door opened and the redemption is on disk although the switch has not answered yet.
    await eventually(committed)
    assert slow.unlocked == ["r1"] and slow.powered == []
    assert not redeeming.done()
    slow.answer.set()
    result = await redeeming
    assert result.ok and slow.powered == [("r1", True)]
    assert (await store.session("r1")).state == RoomState.IN_USE


async def test_a_power_failure_after_the_commit_is_its_own_fault_and_the_redemption_stands(
    service: RedemptionService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    actuators.broken_switches.add("r1")
    result = await service.redeem_code(code(), "scan-1")
    assert result.ok
    kinds = [k for k, _ in await events(store)]
    assert kinds.index("redemption") < kinds.index("fault")
    assert (await store.redemption("B1")) is not None


async def test_a_booking_the_edge_never_received_opens_the_door_flagged_unknown(
    service: RedemptionService, store: EdgeStore
) -> None:
    result = await service.redeem_code(code(ref="B-NEW"), "scan-1")
    assert (result.ok, result.known) == (True, False)
    redemption = [p for k, p in await events(store) if k == "redemption"]
    assert redemption[0]["known"] is False


@pytest.mark.parametrize(
    ("text", "device", "reason"),
    [
        ("", "scan-1", "malformed"),
        ("hello world", "scan-1", "malformed"),
        ("GH1." + "x" * 400, "scan-1", "malformed"),
        (code(store="s2"), "scan-1", "wrong_store"),
        (code(key=bytes(32)), "scan-1", "bad_signature"),
        (code(now=START - 600), "scan-1", "expired"),
        (code(room="r2"), "scan-1", "wrong_room"),
        (code(room="r9"), "scan-gate", "no_such_room"),
    ],
)
async def test_refused_codes_keep_the_door_shut_and_report_a_reason(
    service: RedemptionService,
    store: EdgeStore,
    actuators: RecordingActuators,
    text: str,
    device: str,
    reason: str,
) -> None:
    result = await service.redeem_code(text, device)
    assert (result.ok, result.reason, result.outcome) == (False, reason, Outcome.REFUSED)
    assert actuators.unlocked == []
    [(kind, payload)] = await events(store)
    assert kind == "redemption_refused"
    assert (payload["reason"], payload["device_id"]) == (reason, device)


async def test_a_cancelled_booking_is_refused_as_revoked(
    service: RedemptionService, store: EdgeStore
) -> None:
    await store.apply_store_data(False, 2, [Booking("B1", "r1", START, END, "ORD-1", "1234", "cancelled")])
    result = await service.redeem_code(code(), "scan-1")
    assert result.reason == "revoked"


async def test_the_store_grace_from_the_cloud_decides_how_early_the_door_opens(
    service: RedemptionService, clock: FakeClock
) -> None:
    clock.set(START - 601)
    assert (await service.redeem_code(code(now=clock.now()), "scan-1")).reason == "not_yet_valid"
    clock.set(START - 600)
    assert (await service.redeem_code(code(now=clock.now()), "scan-1")).ok


async def test_before_enrolment_every_code_is_refused(
    store: EdgeStore, actuators: RecordingActuators, clock: FakeClock
) -> None:
    service = RedemptionService(store, actuators, clock, lambda: None)
    assert (await service.redeem_code(code(), "scan-1")).reason == "unknown_key"


async def test_order_number_and_phone_digits_redeem_a_cached_booking(
    service: RedemptionService, store: EdgeStore, actuators: RecordingActuators
) -> None:
    result = await service.redeem_order(" ORD-1 ", "1234")
    assert (result.ok, result.booking_ref, result.known) == (True, "B1", True)
    assert actuators.unlocked == ["r1"]
    [redemption] = [p for k, p in await events(store) if k == "redemption"]
    assert (redemption["method"], redemption["key_version"], redemption["device_id"]) == (
        "order_phone",
        None,
        "panel",
    )


@pytest.mark.parametrize(
    ("order", "phone"), [("ORD-1", "9999"), ("ORD-2", "1234"), ("", "1234"), ("O" * 500, "1")]
)
async def test_an_order_not_matching_a_cached_booking_is_unknown(
    service: RedemptionService, actuators: RecordingActuators, order: str, phone: str
) -> None:
    result = await service.redeem_order(order, phone)
    assert (result.ok, result.reason) == (False, "unknown_order")
    assert actuators.unlocked == []
