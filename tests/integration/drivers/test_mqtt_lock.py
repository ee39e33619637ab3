"""MqttLock against SimulatedMqttLock over a real broker: acknowledgements, faults, retries, latency."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from drivers.heartbeat import Heartbeat
from drivers.lock import (
    LockDoorOpen,
    LockJammed,
    LockReplyError,
    LockState,
    LockStatus,
    LockTimeout,
    MqttLock,
)
from drivers.mqtt import MqttBus
from edge.broker import EmbeddedBroker
from simulators.lock_mqtt import SimulatedMqttLock
from tests.conftest import free_port
from tests.integration.drivers.support import TcpProxy, eventually


@pytest.fixture
async def sim(mqtt_broker: EmbeddedBroker) -> AsyncIterator[SimulatedMqttLock]:
    """A simulated lock that stays unlocked for a minute (tests relock it themselves)."""
    async with SimulatedMqttLock(mqtt_broker.host, mqtt_broker.port, "lock-1", relock_after_s=60) as lock:
        yield lock


def make_lock(bus: MqttBus, *, timeout: float = 1.0, tries: int = 3) -> MqttLock:
    """A driver with test-sized timeouts."""
    return MqttLock(bus, "lock-1", timeout=timeout, tries=tries, backoff=0.01)


async def test_unlock_returns_the_unlocked_read_back_and_the_lock_counted_it(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    status = await make_lock(bus).unlock()
    assert status.state is LockState.UNLOCKED
    assert status.door_open is False
    assert sim.unlocks == 1
    assert sim.state == "unlocked"
    assert [cmd["op"] for cmd in sim.commands] == ["unlock"]


async def test_lock_and_status_are_acknowledged_with_the_resulting_state(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    lock = make_lock(bus)
    await lock.unlock()
    assert (await lock.lock()).state is LockState.LOCKED
    sim.door_open = True
    status = await lock.status()
    assert (status.state, status.door_open) == (LockState.LOCKED, True)


async def test_last_status_follows_the_automatic_relock_without_any_command(
    bus: MqttBus, mqtt_broker: EmbeddedBroker
) -> None:
    async with SimulatedMqttLock(mqtt_broker.host, mqtt_broker.port, "lock-1", relock_after_s=0.05) as sim:
        lock = make_lock(bus)
        seen: list[LockStatus] = []
        lock.on_status(seen.append)
        await lock.unlock()
        await eventually(lambda: lock.last_status is not None and lock.last_status.state is LockState.LOCKED)
        assert [s.state for s in seen][-3:] == [LockState.UNLOCKING, LockState.UNLOCKED, LockState.LOCKED]
        assert sim.unlocks == 1


async def test_the_retained_state_and_heartbeats_fill_the_cache_before_any_command(
    bus: MqttBus, sim: SimulatedMqttLock, mqtt_broker: EmbeddedBroker
) -> None:
    lock = make_lock(bus)
    await eventually(lambda: lock.last_status is not None)
    assert lock.last_status is not None and lock.last_status.state is LockState.LOCKED
    sim.battery = 42
    await sim.go_offline()
    await sim.come_online()  # announces itself with a heartbeat
    await eventually(lambda: lock.last_heartbeat is not None and lock.last_heartbeat.battery == 42)


async def test_a_jammed_lock_raises_lock_jammed_without_retrying(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    sim.jammed = True
    with pytest.raises(LockJammed) as info:
        await make_lock(bus).unlock()
    assert info.value.code == "jammed"
    assert len(sim.commands) == 1
    assert sim.unlocks == 0


async def test_dropped_commands_time_out_after_three_tries_of_one_command_id(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    sim.drop_commands = True
    started = time.monotonic()
    with pytest.raises(LockTimeout) as info:
        await make_lock(bus, timeout=0.2).unlock()
    assert info.value.code == "timeout"
    assert time.monotonic() - started >= 0.6
    assert len(sim.commands) == 3
    assert len({cmd["id"] for cmd in sim.commands}) == 1


async def test_a_garbage_reply_is_a_reply_error(bus: MqttBus, sim: SimulatedMqttLock) -> None:
    sim.garbage = True
    with pytest.raises(LockReplyError) as info:
        await make_lock(bus, timeout=0.5).unlock()
    assert info.value.code == "bad_reply"
    assert len(sim.commands) == 3


async def test_a_device_error_reply_is_a_reply_error(bus: MqttBus, sim: SimulatedMqttLock) -> None:
    sim.refuse_with = "low_battery"
    with pytest.raises(LockReplyError, match="low_battery"):
        await make_lock(bus, tries=1).unlock()


async def test_a_jammed_error_reply_is_lock_jammed(bus: MqttBus, sim: SimulatedMqttLock) -> None:
    sim.refuse_with = "jammed"
    with pytest.raises(LockJammed):
        await make_lock(bus).lock()
    assert len(sim.commands) == 1


async def test_a_reply_delayed_within_the_timeout_succeeds(bus: MqttBus, sim: SimulatedMqttLock) -> None:
    sim.delay_s = 0.1
    status = await make_lock(bus, timeout=1.0).unlock()
    assert status.state is LockState.UNLOCKED
    assert len(sim.commands) == 1


async def test_a_reply_later_than_one_try_still_acknowledges_the_retry(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    sim.delay_s = 0.3
    status = await make_lock(bus, timeout=0.25).unlock()
    assert status.state is LockState.UNLOCKED
    assert len(sim.commands) >= 2


async def test_concurrent_commands_to_one_lock_are_serialized(bus: MqttBus, sim: SimulatedMqttLock) -> None:
    sim.delay_s = 0.01
    lock = make_lock(bus)
    results = await asyncio.gather(*(lock.unlock() for _ in range(5)))
    assert all(status.state is LockState.UNLOCKED for status in results)
    assert sim.unlocks == 5
    assert len({cmd["id"] for cmd in sim.commands}) == 5


async def test_an_offline_lock_times_out_and_works_again_once_back(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    lock = make_lock(bus, timeout=0.1, tries=2)
    await sim.go_offline()
    with pytest.raises(LockTimeout):
        await lock.unlock()
    await sim.come_online()
    assert (await lock.unlock()).state is LockState.UNLOCKED


async def test_a_command_without_a_broker_is_a_lock_timeout() -> None:
    async with MqttBus("127.0.0.1", free_port()) as bus:
        with pytest.raises(LockTimeout):
            await make_lock(bus, timeout=0.05, tries=2).unlock()


async def test_the_lock_works_again_after_the_broker_restarts() -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port)
    await broker.start()
    link = TcpProxy("127.0.0.1", port)
    await link.open()
    try:
        async with (
            MqttBus("127.0.0.1", link.port, reconnect_max=0.2) as bus,
            SimulatedMqttLock("127.0.0.1", link.port, "lock-1", relock_after_s=60) as sim,
        ):
            await bus.wait_connected(5)
            lock = make_lock(bus)
            await lock.unlock()
            await link.cut()
            await eventually(lambda: not bus.connected and sim.offline)
            await broker.stop()
            broker = EmbeddedBroker(port=port)
            await broker.start()
            await link.open()
            await bus.wait_connected(5)
            await sim.wait_online()
            assert (await lock.lock()).state is LockState.LOCKED
            assert sim.unlocks == 1
    finally:
        await link.cut()
        await broker.stop()


async def test_the_bus_connection_disables_nagles_algorithm(bus: MqttBus, sim: SimulatedMqttLock) -> None:
    # With Nagle's algorithm on, every QoS 1 round trip waits ~40 ms for a delayed ACK (latency
    # itself is measured by `make bench`, not asserted here).
    await bus.wait_connected(5)
    client = bus._client
    assert client is not None
    sock = client._client.socket()
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_an_open_door_answers_unlock_with_open_refuses_lock_and_relocks_when_closed(
    bus: MqttBus, sim: SimulatedMqttLock
) -> None:
    lock = make_lock(bus)
    await lock.unlock()
    await sim.set_door(True)
    await eventually(lambda: lock.last_status is not None and lock.last_status.state is LockState.OPEN)
    assert (await lock.unlock()).state is LockState.OPEN
    with pytest.raises(LockDoorOpen) as info:
        await lock.lock()
    assert info.value.code == "door_open"
    assert [cmd["op"] for cmd in sim.commands].count("lock") == 1
    await sim.set_door(False)
    await eventually(lambda: lock.last_status is not None and lock.last_status.state is LockState.LOCKED)
    assert lock.last_status is not None and lock.last_status.door_open is False


async def test_heartbeats_carry_the_device_time_and_the_drivers_receive_time(
    bus: MqttBus, mqtt_broker: EmbeddedBroker
) -> None:
    lock = MqttLock(bus, "lock-hb", clock=lambda: 7.0)
    seen: list[Heartbeat] = []
    lock.on_heartbeat(seen.append)
    async with SimulatedMqttLock(
        mqtt_broker.host, mqtt_broker.port, "lock-hb", battery=55, clock=lambda: 5.0
    ):
        await eventually(lambda: bool(seen))
    assert lock.last_heartbeat == Heartbeat(at=5.0, battery=55, received_at=7.0)
    assert seen[0] == lock.last_heartbeat
    lock.close()
