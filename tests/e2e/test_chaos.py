"""Chaos: SIGKILL the edge process at random points during 200 redemptions and their sessions.

Afterwards the cloud holds every event exactly once (no seq missing, none twice), every booking
is redeemed once, and no room is stuck: every session whose time is up went to cleaning (or was
cleaned), whatever moment the kills hit — its end timer ran, before or after a restart.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cloud.edgelink.feed import record_change
from cloud.edgelink.tables import EdgeEvent
from cloud.uow import UnitOfWork
from edge.identity import load_identity
from gatehouse.chain import ChainStore, DemoChain
from protos.codes import code_at
from tests.e2e.test_crash import EdgeProcess, connected, edge_process
from tests.support.waiting import eventually

REDEMPTIONS = 200
KILLS = 3
SEED = 20261121


async def add_rooms(chain: DemoChain, store: ChainStore, count: int) -> list[str]:
    """Rooms with no devices (the door "opens" at once): many sessions without many simulators."""
    api = chain.client()
    rooms = []
    for i in range(count):
        response = await api.post(
            "/api/v1/rooms", json={"store_id": store.id, "name": f"Chaos {i:03d}", "kind": "mahjong"}
        )
        assert response.status_code == 201, response.text
        rooms.append(str(response.json()["id"]))
    return rooms


async def add_bookings(chain: DemoChain, store: ChainStore, bookings: list[dict[str, Any]]) -> None:
    """Bookings of a few seconds, put straight into the store's feed (the booking API's minimum is an
    hour): the edge receives them like any other and ends their sessions to the second."""
    cloud = chain.running_cloud()
    async with cloud.sessionmaker() as session:
        uow = UnitOfWork(session, cloud.notifier)
        for booking in bookings:
            await record_change(session, store.id, "booking", booking["ref"], booking)
        await uow.commit()


class Redeemer:
    """Redeems codes at the edge's panel, retrying across kills until each gets a definite answer."""

    def __init__(self, edge: EdgeProcess, keys: dict[int, bytes], store_id: str) -> None:
        self.edge = edge
        self.keys = keys
        self.store_id = store_id
        self.answers: Counter[str] = Counter()

    def code(self, booking: dict[str, Any]) -> str:
        version = max(self.keys)
        start = booking["starts_at"] // 60 * 60
        end = math.ceil(booking["ends_at"] / 60) * 60
        return code_at(
            self.keys[version],
            version,
            self.store_id,
            booking["ref"],
            booking["room_id"],
            start,
            end,
            time.time(),
        )

    async def redeem(self, booking: dict[str, Any]) -> dict[str, Any]:
        async with asyncio.timeout(60):
            while True:
                try:
                    result: dict[str, Any] = await self.edge.api.post(
                        "/api/redeem", {"code": self.code(booking)}
                    )
                except (httpx.TransportError, ValueError):
                    await asyncio.sleep(0.05)  # the edge is down: the customer tries again
                    continue
                self.answers[result["outcome"]] += 1
                return result


async def killer(edge: EdgeProcess, rng: random.Random, stop: asyncio.Event, kills: list[float]) -> None:
    """SIGKILL the edge at random moments, restart it at once, until told to stop."""
    while not stop.is_set() and len(kills) < KILLS:
        await asyncio.sleep(rng.uniform(0.3, 1.2))
        if stop.is_set():
            return
        await edge.kill()
        kills.append(time.time())
        await edge.start()
        await connected(edge)


@pytest.mark.slow
async def test_sigkills_during_200_redemptions_lose_nothing_duplicate_nothing_and_strand_no_room(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    async with DemoChain(tmp_path, relock_after_s=0.05, edges=[]) as chain:
        store = chain.store("Demo Store A")
        rooms = await add_rooms(chain, store, REDEMPTIONS)
        async with edge_process(chain, store, tmp_path) as edge:
            identity = load_identity(store.config.data_dir)
            assert identity is not None
            now = int(time.time())
            bookings = [
                {
                    "ref": f"CHAOS{i:04d}",
                    "room_id": room,
                    "starts_at": now - 60,
                    # Sessions end while the kills go on, and after: end timers run across restarts.
                    "ends_at": now + 20 + i % 10,
                    "order_no": f"9{i:05d}",
                    "phone_last4": "0000",
                    "status": "confirmed",
                }
                for i, room in enumerate(rooms)
            ]
            await add_bookings(chain, store, bookings)

            async def edge_has_them() -> bool:
                state = await edge.state()
                return (
                    bool(state) and sum(1 for r in state["rooms"] if r["state"] == "reserved") == REDEMPTIONS
                )

            await eventually(edge_has_them, timeout=30, what="the bookings to reach the edge")

            redeemer = Redeemer(edge, dict(identity.store_keys), identity.store_id)
            stop, kills = asyncio.Event(), []
            chaos = asyncio.create_task(killer(edge, rng, stop, kills))
            order = list(bookings)
            rng.shuffle(order)
            for start in range(0, len(order), 10):
                batch = order[start : start + 10]
                results = await asyncio.gather(*(redeemer.redeem(b) for b in batch))
                assert all(r["ok"] for r in results), results
                # Some guests step out and back in: reentries.
                await redeemer.redeem(rng.choice(batch))
            stop.set()
            await chaos
            await connected(edge)
            assert kills, "the edge was killed at least once"

            # Every session's time is up: each room must reach cleaning, whatever the kills hit.
            async def all_ended() -> dict[str, Any] | None:
                state = await edge.state()
                if not state:
                    return None
                mine = [r for r in state["rooms"] if r["id"] in set(rooms)]
                return state if all(r["state"] == "cleaning" for r in mine) else None

            await eventually(all_ended, timeout=40, what="every chaos session to end")
            for room in rooms[:20]:
                cleaned = await edge.api.post("/api/cleaned", {"room_id": room})
                assert cleaned["ok"], cleaned

            async def drained() -> bool:
                state = await edge.state()
                return bool(state and state["outbox_depth"] == 0 and state["link_connected"])

            await eventually(drained, timeout=30, what="the outbox to drain")
            final = await edge.state()
            assert final is not None
            by_room = {r["id"]: r["state"] for r in final["rooms"]}
            assert [by_room[r] for r in rooms[:20]] == ["free"] * 20
            assert {by_room[r] for r in rooms[20:]} == {"cleaning"}

        async with chain.running_cloud().sessionmaker() as session:
            events = list(await session.scalars(select(EdgeEvent).where(EdgeEvent.store_id == store.id)))
    seqs = sorted(e.seq for e in events)
    assert seqs == list(range(1, len(seqs) + 1)), "no event lost (seqs are contiguous from 1)"
    assert len(set(seqs)) == len(seqs), "no event recorded twice"
    redeemed = Counter(e.payload["booking_ref"] for e in events if e.kind == "redemption")
    assert sorted(redeemed) == sorted(b["ref"] for b in bookings)
    assert set(redeemed.values()) == {1}
    ends = Counter(
        e.payload["room_id"] for e in events if e.kind == "session" and e.payload["state"] == "cleaning"
    )
    assert set(ends) == set(rooms) and set(ends.values()) == {1}, "every session ended exactly once"
    assert redeemer.answers["refused"] == 0
