"""A 24-hour cloud outage, compressed with a FakeClock at the edge: the store runs alone, then catches up.

Hour after hour guests redeem codes the edge never received, sessions run and end (power off,
lock, cleaning), the cleaner frees each room and a jammed lock takes one room out of service.
Everything waits in the outbox; when the cloud returns it arrives once, in order, and the cloud's
work order for the jam, resolved by the maintainer, brings the room back into service at the edge.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from cloud.edgelink.tables import EdgeEvent
from edge.clock import FakeClock
from edge.config import DeviceSettings
from edge.identity import load_identity
from edge.sessions.model import RoomState, room_code
from gatehouse.chain import DemoChain
from protos.codes import code_at
from tests.support.waiting import eventually

HOURS = 24
JAMMED_AT = 5


@pytest.mark.slow
async def test_a_day_without_the_cloud_runs_every_session_and_everything_arrives_once_after(
    tmp_path: Path,
) -> None:
    t0 = (int(time.time()) // 60 + 1) * 60
    clock = FakeClock(t0)
    async with DemoChain(tmp_path, relock_after_s=0.05, edge_clock=clock, edges=[]) as chain:
        store = chain.store("Demo Store A")
        store.config = store.config.model_copy(update={"devices": DeviceSettings(flash_s=0.0)})
        edge = await chain.start_edge(store)
        devices = store.devices
        assert devices is not None
        identity = load_identity(store.config.data_dir)
        assert identity is not None
        version = max(identity.store_keys)
        key = identity.store_keys[version]
        await chain.stop_cloud()

        async def state(room: str) -> RoomState:
            return (await edge.store.session(room)).state

        async def reach(room: str, wanted: RoomState) -> None:
            async def there() -> bool:
                return await state(room) is wanted

            await eventually(there, what=f"{room} {wanted}")

        jammed = store.rooms[0]
        usable = store.rooms[1:]
        depth_before = await edge.store.outbox_depth()
        for hour in range(HOURS):
            start = t0 + hour * 3600
            room = jammed if hour == JAMMED_AT else usable[hour % len(usable)]
            lock = devices.lock(room.lock)
            lock.jammed = hour == JAMMED_AT
            clock.set(start + 60)
            ref = f"OFF{hour:02d}"
            await devices.scanner(room.scanner).scan(
                code_at(key, version, identity.store_id, ref, room.id, start, start + 3000, clock.now())
            )
            if hour == JAMMED_AT:
                await reach(room.id, RoomState.MAINTENANCE)
                lock.jammed = False
                continue
            await reach(room.id, RoomState.IN_USE)
            clock.set(start + 3000)
            await reach(room.id, RoomState.CLEANING)
            assert devices.switch(room.power).channels == [False, False]
            await devices.scanner(room.scanner).scan(room_code(key, version, identity.store_id, room.id))
            await reach(room.id, RoomState.FREE)
        piled = await edge.store.outbox_depth()
        assert piled > depth_before + 4 * (HOURS - 1), "a day of events waits in the outbox"
        assert not edge.link.connected

        await chain.start_cloud()

        async def drained() -> bool:
            return await edge.store.outbox_depth() == 0

        await eventually(drained, timeout=30, what="the outbox to drain")
        async with chain.running_cloud().sessionmaker() as session:
            events = list(await session.scalars(select(EdgeEvent).where(EdgeEvent.store_id == store.id)))
        seqs = sorted(e.seq for e in events)
        assert seqs == list(range(1, len(seqs) + 1)), "nothing lost, nothing twice"
        in_order = sorted(events, key=lambda e: e.seq)
        redeemed = [e.payload["booking_ref"] for e in in_order if e.kind == "redemption"]
        assert redeemed == [f"OFF{h:02d}" for h in range(HOURS) if h != JAMMED_AT]
        assert all(e.payload["known"] is False for e in in_order if e.kind == "redemption")
        ended = [e for e in in_order if e.kind == "session" and e.payload["state"] == "cleaning"]
        assert len(ended) == HOURS - 1

        api = chain.client()

        async def work_order() -> list[dict[str, object]]:
            orders: list[dict[str, object]] = (
                await api.get("/api/v1/work-orders", params={"severity": "critical"})
            ).json()
            return [o for o in orders if o["code"] == "jammed" and o["room_id"] == jammed.id]

        [order] = await eventually(work_order, what="the jam's work order")
        assert (order["severity"], order["assignee_role"], order["hq_alert"]) == (
            "critical",
            "maintainer",
            True,
        )
        base = f"/api/v1/work-orders/{order['id']}"
        assert (await api.post(f"{base}/assign", json={"assignee": "maintainer on duty"})).status_code == 200
        assert (await api.post(f"{base}/start")).status_code == 200
        resolved = (await api.post(f"{base}/resolve", json={"resolution": "bolt freed"})).json()
        assert (resolved["state"], resolved["edge_sync"]) == ("resolved", "done")
        assert await state(jammed.id) is RoomState.FREE
