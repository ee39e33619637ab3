"""An edge process killed with SIGKILL right after a redemption loses no event and sends none twice."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cloud.auth.demo import DemoLogin
from edge.config import ListenConfig
from edge.panel.client import PanelClient
from gatehouse.chain import ChainStore, DemoChain, free_port
from tests.e2e.conftest import book_now, booking_status, door_opened, redemptions_of, scan
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


class EdgeProcess:
    """`gatehouse edge run` as a child process, with its panel's JSON API (signed in as the front desk)."""

    def __init__(self, config_path: Path, panel_port: int, login: DemoLogin) -> None:
        self.config_path = config_path
        self.panel = f"http://127.0.0.1:{panel_port}"
        # Signs in again after each restart: panel sessions live in the process's memory.
        self.api = PanelClient(self.panel, login.login, login.password, timeout=2)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gatehouse",
            "edge",
            "run",
            "--config",
            str(self.config_path),
            "--log-level",
            "WARNING",
            cwd=ROOT,
        )

    async def state(self) -> dict[str, Any] | None:
        try:
            # Not before the staff are there: failed sign-ins would lock the front desk out.
            if not await self.api.ready():
                return None
            state: dict[str, Any] = await self.api.get("/api/state")
            return state
        except (httpx.TransportError, ValueError):
            return None

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no clean-up of any kind
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                await self.kill()


@asynccontextmanager
async def edge_process(chain: DemoChain, store: ChainStore, tmp_path: Path) -> AsyncIterator[EdgeProcess]:
    """The store's edge as a process, on fixed ports, its simulated devices in this process."""
    mqtt_port, panel_port = free_port(), free_port()
    config = store.config.model_copy(
        update={"mqtt": ListenConfig(port=mqtt_port), "panel": ListenConfig(port=panel_port)}
    )
    path = tmp_path / "store-a.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    edge = EdgeProcess(path, panel_port, chain.panel_login(store))
    await edge.start()
    try:
        devices = await chain.start_devices(store, mqtt_port)
        await connected(edge)
        await devices.wait_online()
        yield edge
    finally:
        await edge.stop()
        await edge.api.aclose()


async def connected(edge: EdgeProcess) -> None:
    """Wait until the edge process serves its panel, is linked to the cloud and has store data."""

    async def linked() -> bool:
        state = await edge.state()
        return bool(state and state["link_connected"] and state["cursor"] > 0)

    await eventually(linked, timeout=30, what="the edge process to link up")


@pytest.mark.slow
async def test_an_edge_killed_right_after_a_redemption_loses_no_event(tmp_path: Path) -> None:
    async with DemoChain(tmp_path, relock_after_s=0.2, edges=[]) as chain:
        store = chain.store("Demo Store A")
        room = store.room("KTV 1")
        async with edge_process(chain, store, tmp_path) as edge:
            booking = await book_now(chain, room)
            await chain.stop_cloud()  # the event must wait in the outbox, across the kill

            await scan(store, room, booking, time.time())
            await door_opened(store, room, times=1)

            async def redemption_committed() -> bool:
                state = await edge.state()
                return bool(state and state["outbox_depth"] >= 1)

            await eventually(redemption_committed, what="the redemption in the outbox")
            await edge.kill()
            await edge.start()
            await chain.start_cloud()
            await connected(edge)

            await booking_status(chain, booking["ref"], "redeemed", timeout=20)

            async def outbox_empty() -> bool:
                state = await edge.state()
                return bool(state and state["outbox_depth"] == 0)

            await eventually(outbox_empty, timeout=20, what="the outbox to drain")
            assert len(await redemptions_of(chain, store, booking["ref"])) == 1
            events = (await chain.client().get(f"/api/v1/stores/{store.id}/events?limit=500")).json()
            redemption_events = [e for e in events if e["kind"] == "redemption"]
            assert len(redemption_events) == 1


@pytest.mark.slow
async def test_an_edge_killed_while_sending_sends_each_event_once(tmp_path: Path) -> None:
    async with DemoChain(tmp_path, relock_after_s=0.05, edges=[]) as chain:
        store = chain.store("Demo Store A")
        async with edge_process(chain, store, tmp_path) as edge:
            bookings = [(room, await book_now(chain, room)) for room in store.rooms]
            await chain.stop_cloud()
            for times, (room, booking) in enumerate(bookings, start=1):
                await scan(store, room, booking, time.time())
                await door_opened(store, room, times=1)
                del times

            async def all_committed() -> bool:
                state = await edge.state()
                return bool(state and state["outbox_depth"] >= len(bookings))

            await eventually(all_committed, what="every redemption in the outbox")
            # Kill it as the link comes back and the outbox starts to flow.
            await chain.start_cloud()
            await connected(edge)
            await edge.kill()
            await edge.start()
            await connected(edge)

            for _room, booking in bookings:
                await booking_status(chain, booking["ref"], "redeemed", timeout=20)
            events = (await chain.client().get(f"/api/v1/stores/{store.id}/events?limit=500")).json()
            refs = sorted(e["payload"]["booking_ref"] for e in events if e["kind"] == "redemption")
            assert refs == sorted(b["ref"] for _r, b in bookings)
