"""Room sessions over real devices: warning, end, cleaning, maintenance, remote commands (FakeClock)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt

from edge.journal.model import verify
from edge.sessions.model import RoomState, room_code
from tests.integration.edge.fake_cloud import FakeCloud
from tests.integration.edge.rig import END, STORE_ID, STORE_KEY, Rig, eventually

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


async def holds(predicate: Callable[[], bool]) -> None:
    """Wait until a condition on in-process state holds."""

    async def check() -> bool:
        return predicate()

    await eventually(check)


async def state_of(rig: Rig, room: str = "r1") -> RoomState:
    return (await rig.edge.store.session(room)).state


async def reach(rig: Rig, state: RoomState, room: str = "r1") -> None:
    async def there() -> bool:
        return await state_of(rig, room) is state

    await eventually(there)


def session_states(cloud: FakeCloud, room: str = "r1") -> list[str]:
    """The room's session states in the cloud (whether B1's room was held first races the scan)."""
    states = [p["state"] for p in cloud.payloads("session") if p["room_id"] == room]
    return states[1:] if states[:1] == ["reserved"] else states


@contextlib.asynccontextmanager
async def speaker(rig: Rig) -> AsyncIterator[list[dict[str, Any]]]:
    """Every message published to a room speaker's topic, as a device on the edge's broker sees it."""
    heard: list[dict[str, Any]] = []
    async with aiomqtt.Client("127.0.0.1", rig.edge.mqtt_port, socket_options=NODELAY) as client:
        await client.subscribe("gh/dev/+/say", qos=1)

        async def listen() -> None:
            async for message in client.messages:
                if message.topic.matches("gh/dev/+/say") and isinstance(message.payload, bytes):
                    heard.append({"topic": message.topic.value, **json.loads(message.payload)})

        task = asyncio.create_task(listen())
        try:
            yield heard
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


async def test_a_session_is_warned_ended_and_freed_by_the_cleaners_scan_over_real_devices(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await reach(rig, RoomState.IN_USE)
    await holds(lambda: rig.power.channels == [True, True])  # switched on beside the commit
    writes = rig.power.writes
    async with speaker(rig) as heard:
        rig.clock.set(END - 300)  # the warning lead (5 min by default) before the booking's end
        await reach(rig, RoomState.ENDING)
        await holds(lambda: bool(heard))
    assert rig.power.writes >= writes + 2, "the lights went off and on again"
    assert rig.power.channels == [True, True]
    [said] = heard
    assert (said["topic"], said["kind"], said["minutes_left"]) == ("gh/dev/r1/say", "session_ending", 5)

    rig.clock.set(END)
    await reach(rig, RoomState.CLEANING)
    assert rig.power.channels == [False, False]
    await holds(lambda: rig.lock.state == "locked")

    await rig.scanner.scan(room_code(STORE_KEY, 1, STORE_ID, "r1"))
    await reach(rig, RoomState.FREE)
    await rig.cloud.wait_for(lambda: session_states(rig.cloud)[-1:] == ["free"])
    assert session_states(rig.cloud) == ["in_use", "ending", "cleaning", "free"]


async def test_a_jammed_lock_takes_the_room_out_and_the_clouds_resolution_brings_it_back(rig: Rig) -> None:
    rig.lock.jammed = True
    await rig.scanner.scan(rig.code())
    await reach(rig, RoomState.MAINTENANCE)
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("fault")))
    [fault] = rig.cloud.payloads("fault")
    assert (fault["code"], fault["severity"], fault["audience"]) == (
        "jammed",
        "critical",
        "hq_and_maintainer",
    )

    rig.lock.jammed = False
    rig.cloud.command("c-resolve", "resolve_fault", {"room_id": "r1", "fault_id": fault["fault_id"]})
    await rig.cloud.wait_for(lambda: bool(rig.cloud.results))
    [result] = rig.cloud.results
    assert (result.ok, json.loads(result.result_json)["room_state"]) == (True, "free")
    assert await state_of(rig) is not RoomState.MAINTENANCE  # free, or held again for B1


async def test_remote_unlock_of_an_occupied_room_is_refused_unless_forced_with_a_reason(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await reach(rig, RoomState.IN_USE)
    rig.cloud.command("c1", "unlock", {"room_id": "r1"})
    rig.cloud.command("c2", "unlock", {"room_id": "r1", "force": True, "reason": "smell of gas reported"})
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 2)
    results = {r.command_id: r for r in rig.cloud.results}
    assert (results["c1"].ok, results["c1"].code) == (False, "room_occupied")
    assert (results["c2"].ok, json.loads(results["c2"].result_json)["forced"]) == (True, True)
    assert rig.lock.unlocks == 2
    entries = await rig.edge.store.journal()
    assert verify(entries).ok
    assert [e.kind for e in entries] == ["redemption", "door_open", "forced_command", "door_open"]


async def test_an_extension_from_the_cloud_keeps_the_session_going_past_the_booked_end(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await reach(rig, RoomState.IN_USE)
    await holds(lambda: rig.power.channels == [True, True])  # switched on beside the commit
    rig.cloud.command("c1", "extend", {"room_id": "r1", "minutes": 30, "booking_ref": "B1"})
    await rig.cloud.wait_for(lambda: bool(rig.cloud.results))
    assert rig.cloud.results[0].ok
    rig.clock.set(END)
    await rig.edge.sessions.run_due()  # what is due at the old end (r2's unredeemed hold ends) runs now
    assert await state_of(rig) is RoomState.IN_USE
    assert await state_of(rig, "r2") is RoomState.FREE
    assert rig.power.channels == [True, True]
    rig.clock.set(END + 1800)
    await reach(rig, RoomState.CLEANING)


async def test_with_the_cloud_down_sessions_and_faults_run_and_arrive_in_order_once_later(rig: Rig) -> None:
    await rig.cloud.stop()
    await rig.scanner.scan(rig.code())
    await reach(rig, RoomState.IN_USE)
    rig.clock.set(END)
    await reach(rig, RoomState.CLEANING)
    rig.clock.set(END + 1800)  # nobody cleaned: the store manager hears of it

    async def overdue() -> bool:
        return any(f.code == "cleaning_overdue" for f in await rig.edge.store.faults())

    await eventually(overdue)
    depth = await rig.edge.store.outbox_depth()
    await rig.cloud.start()

    async def drained() -> bool:
        return await rig.edge.store.outbox_depth() == 0

    await eventually(drained)
    assert len(rig.cloud.events) >= depth
    seqs = sorted(rig.cloud.events)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gaps"
    # Events sent but not acknowledged before the outage are sent again: recorded once all the same.
    assert len(rig.cloud.payloads("redemption")) == 1
    assert session_states(rig.cloud) == ["in_use", "ending", "cleaning"]
    assert [p["code"] for p in rig.cloud.payloads("fault")] == ["cleaning_overdue"]
