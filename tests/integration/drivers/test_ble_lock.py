"""BleLock through bleak's real BleakClient against SimulatedBleLock plugged in with `backend=`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection

from drivers.heartbeat import Heartbeat
from drivers.lock import (
    BLE_LOCK_GATT,
    BleLock,
    LockDoorOpen,
    LockJammed,
    LockReplyError,
    LockState,
    LockStatus,
    LockTimeout,
    MonitoredLock,
)
from drivers.lock.transport_ble import check_layout
from simulators.lock_ble import BleAir, SimulatedBleLock
from tests.integration.drivers.support import eventually

ADDRESS = "C0:FF:EE:00:00:01"


class Seen:
    """Collects pushed statuses; `wait(pred)` returns the first (already seen or later) that matches."""

    def __init__(self, lock: BleLock) -> None:
        self.statuses: list[LockStatus] = []
        self._arrived = asyncio.Event()
        lock.on_status(self._on_status)

    def _on_status(self, status: LockStatus) -> None:
        self.statuses.append(status)
        self._arrived.set()

    async def wait(self, predicate: Callable[[LockStatus], bool], timeout: float = 5.0) -> LockStatus:
        async with asyncio.timeout(timeout):
            while True:
                for status in self.statuses:
                    if predicate(status):
                        return status
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedBleLock]:
    """A simulated BLE lock that stays unlocked for a minute (tests relock it themselves)."""
    async with SimulatedBleLock(
        ADDRESS, relock_after_s=60, battery=73, clock=lambda: 1_800_000_000.25
    ) as lock:
        yield lock


def make_lock(backend: type, *, timeout: float = 1.0, tries: int = 3) -> BleLock:
    """A driver with test-sized timeouts and reconnect delays."""
    return BleLock(
        "lock-b",
        ADDRESS.lower(),
        backend=backend,
        timeout=timeout,
        tries=tries,
        backoff=0.01,
        connect_timeout=1.0,
        reconnect_min=0.01,
        reconnect_max=0.05,
        clock=lambda: 42.0,
    )


@pytest.fixture
async def lock(sim: SimulatedBleLock) -> AsyncIterator[BleLock]:
    """A connected driver."""
    async with make_lock(sim.backend) as driver:
        await driver.wait_connected(5)
        yield driver


async def test_unlock_goes_through_bleak_and_returns_the_unlocked_read_back(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    status = await lock.unlock()
    assert status == LockStatus(LockState.UNLOCKED, False, 1_800_000_000.25)
    assert sim.unlocks == 1 and sim.state == "unlocked"
    assert [op for _, op in sim.commands] == ["unlock"]
    assert sim.connects == 1


async def test_the_lock_reports_state_and_a_battery_heartbeat_when_notifications_start(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    await eventually(lambda: lock.last_status is not None and lock.last_heartbeat is not None)
    assert lock.last_status == LockStatus(LockState.LOCKED, False, 1_800_000_000.25)
    assert lock.last_heartbeat == Heartbeat(at=1_800_000_000.25, battery=73, received_at=42.0)


async def test_the_ble_lock_is_a_monitored_lock(lock: BleLock) -> None:
    monitored: MonitoredLock = lock
    assert monitored.device_id == "lock-b"


async def test_lock_and_status_are_acknowledged_with_the_resulting_state(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    await lock.unlock()
    assert (await lock.lock()).state is LockState.LOCKED
    assert (await lock.status()).state is LockState.LOCKED
    assert [op for _, op in sim.commands] == ["unlock", "lock", "status"]
    assert len({seq for seq, _ in sim.commands}) == 3


async def test_an_open_door_answers_unlock_with_open_refuses_lock_and_relocks_on_closing(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    seen = Seen(lock)
    await lock.unlock()
    await sim.set_door(True)
    assert (await seen.wait(lambda s: s.state is LockState.OPEN)).door_open is True
    assert (await lock.unlock()).state is LockState.OPEN
    with pytest.raises(LockDoorOpen) as info:
        await lock.lock()
    assert info.value.code == "door_open"
    assert [op for _, op in sim.commands].count("lock") == 1  # not retried
    seen.statuses.clear()
    await sim.set_door(False)
    closed = await seen.wait(lambda s: s.state is LockState.LOCKED)
    assert closed.door_open is False


async def test_the_automatic_relock_reaches_last_status_without_a_command() -> None:
    async with SimulatedBleLock(ADDRESS, relock_after_s=0.05) as sim, make_lock(sim.backend) as lock:
        seen = Seen(lock)
        await lock.unlock()
        assert [s.state for s in seen.statuses][-2:] == [LockState.UNLOCKING, LockState.UNLOCKED]
        seen.statuses.clear()
        await seen.wait(lambda s: s.state is LockState.LOCKED)
        assert lock.last_status is not None and lock.last_status.state is LockState.LOCKED
        assert sim.state == "locked"


async def test_a_jammed_lock_raises_lock_jammed_without_retrying(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    sim.jammed = True
    with pytest.raises(LockJammed) as info:
        await lock.unlock()
    assert info.value.code == "jammed"
    assert len(sim.commands) == 1 and sim.unlocks == 0


async def test_dropped_commands_time_out_after_three_tries_of_one_sequence_number(
    sim: SimulatedBleLock,
) -> None:
    sim.drop_commands = True
    async with make_lock(sim.backend, timeout=0.1) as lock:
        await lock.wait_connected(5)
        with pytest.raises(LockTimeout) as info:
            await lock.unlock()
    assert info.value.code == "timeout"
    assert len(sim.commands) == 3
    assert len({seq for seq, _ in sim.commands}) == 1


@pytest.mark.parametrize("fault", ["garbage", "bad_crc"])
async def test_a_corrupt_notification_is_a_reply_error(
    sim: SimulatedBleLock, lock: BleLock, fault: str
) -> None:
    setattr(sim, fault, True)
    with pytest.raises(LockReplyError) as info:
        await lock.unlock()
    assert info.value.code == "bad_reply"
    assert len(sim.commands) == 3
    assert lock.rejected >= 3


async def test_a_device_error_notification_is_a_reply_error_and_a_jam_error_is_lock_jammed(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    sim.refuse_with = "low_battery"
    with pytest.raises(LockReplyError, match="low_battery"):
        await lock.unlock()
    sim.refuse_with = "jammed"
    with pytest.raises(LockJammed):
        await lock.lock()


async def test_a_write_the_lock_rejects_at_the_gatt_level_is_a_reply_error(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    sim.reject_writes = True
    with pytest.raises(LockReplyError, match="refused the write"):
        await lock.unlock()
    assert sim.commands == []


async def test_a_reply_later_than_one_try_still_acknowledges_the_retry(sim: SimulatedBleLock) -> None:
    sim.delay_s = 0.15
    async with make_lock(sim.backend, timeout=0.1) as lock:
        await lock.wait_connected(5)
        assert (await lock.unlock()).state is LockState.UNLOCKED
    assert len(sim.commands) >= 2


async def test_concurrent_commands_are_serialized(sim: SimulatedBleLock, lock: BleLock) -> None:
    results = await asyncio.gather(*(lock.unlock() for _ in range(4)))
    assert all(status.state is LockState.UNLOCKED for status in results)
    assert sim.unlocks == 4 and len({seq for seq, _ in sim.commands}) == 4


async def test_a_lost_link_is_reconnected_and_the_next_command_works(
    sim: SimulatedBleLock, lock: BleLock
) -> None:
    sim.drop_link()
    await eventually(lambda: lock.connects == 2 and lock.connected)
    assert (await lock.unlock()).state is LockState.UNLOCKED
    assert sim.connects == 2


async def test_a_lock_out_of_range_times_out_and_is_reached_once_back(sim: SimulatedBleLock) -> None:
    sim.go_offline()
    async with make_lock(sim.backend, timeout=0.1, tries=2) as lock:
        with pytest.raises(LockTimeout, match="no BLE link"):
            await lock.unlock()
        assert not lock.connected
        sim.come_online()
        await lock.wait_connected(5)
        assert (await lock.unlock()).state is LockState.UNLOCKED


async def test_an_address_nobody_answers_at_is_never_connected() -> None:
    air = BleAir()
    async with make_lock(air.backend, timeout=0.05, tries=1) as lock:
        with pytest.raises(LockTimeout):
            await lock.wait_connected(0.1)
        with pytest.raises(LockTimeout):
            await lock.status()


async def test_without_a_backend_bleak_picks_the_platform_one_and_its_failure_is_a_timeout() -> None:
    # No BlueZ here: bleak's platform backend fails to connect; the driver keeps trying quietly.
    async with BleLock(
        "lock-x", ADDRESS, timeout=0.05, tries=1, reconnect_min=0.05, reconnect_max=0.1
    ) as lock:
        with pytest.raises(LockTimeout):
            await lock.unlock()


def test_a_peripheral_without_the_lock_service_or_characteristics_is_refused() -> None:
    services = BleakGATTServiceCollection()
    with pytest.raises(LockReplyError, match="no lock service"):
        check_layout(services, BLE_LOCK_GATT)
    service = BleakGATTService(None, 1, BLE_LOCK_GATT.service)
    services.add_service(service)
    services.add_characteristic(
        BleakGATTCharacteristic(None, 2, BLE_LOCK_GATT.command, ["write"], lambda: 20, service)
    )
    with pytest.raises(LockReplyError, match=BLE_LOCK_GATT.event):
        check_layout(services, BLE_LOCK_GATT)
