"""Edge benchmarks: the daemon's footprint (60 rooms, 300 devices) and the outbox flush after an outage.

`bench_edge_footprint` runs the edge as its own process (`gatehouse edge run`) against the real
cloud, with every simulated device in this process, and samples /proc/<pid>/stat and status.
`bench_outbox_flush` queues events with the cloud down, brings it up and times the drain, then
checks the cloud's edge_events for anything lost or recorded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import func, select

from cloud.edgelink.tables import EdgeEvent
from edge.config import DeviceSettings, ListenConfig
from edge.panel.client import PanelClient
from edge.records import NewEvent
from edge.store import EdgeStore
from gatehouse.chain import ChainStore, DemoChain, free_port, wait_until
from simulators.store import DeviceSpec, SimulatedStore

ROOT = Path(__file__).resolve().parents[1]
ROOMS = 60
DEVICES_PER_ROOM = 5
STEP_TIMEOUT_S = 60.0
SAMPLE_S = 1.0
FLUSH_BATCH = 500
JOIN_GROUP = 10
JOIN_TRIES = 5


def _rooms_devices(room_id: str) -> list[dict[str, Any]]:
    """The five devices of every benchmark room: lock, two switches, door scanner, smoke sensor."""
    return [
        {"room_id": room_id, "kind": "lock", "protocol": "mqtt"},
        {
            "room_id": room_id,
            "kind": "power",
            "protocol": "modbus",
            "config": {"host": "127.0.0.1", "port": str(free_port()), "channels": "2", "roles": "light,ac"},
        },
        {"room_id": room_id, "kind": "power", "protocol": "mqtt", "config": {"roles": "fresh_air"}},
        {"room_id": room_id, "kind": "scanner", "protocol": "mqtt"},
        {"room_id": room_id, "kind": "sensor", "protocol": "mqtt", "config": {"sensor": "smoke"}},
    ]


async def _grow_store(chain: DemoChain, store: ChainStore) -> list[DeviceSpec]:
    """Bring the store to ROOMS rooms of DEVICES_PER_ROOM devices each; return every device."""
    api = chain.client()
    rooms = [room.id for room in store.rooms]
    for i in range(len(rooms), ROOMS):
        response = await api.post(
            "/api/v1/rooms", json={"store_id": store.id, "name": f"Bench {i:02d}", "kind": "mahjong"}
        )
        response.raise_for_status()
        rooms.append(response.json()["id"])
    have = {(d.room_id, d.kind, d.protocol) for d in store.seed.devices}
    for room_id in rooms:
        for device in _rooms_devices(room_id):
            if (room_id, device["kind"], device["protocol"]) in have:
                continue
            (await api.post("/api/v1/devices", json=device)).raise_for_status()
    listed = (await api.get("/api/v1/devices", params={"store_id": store.id})).json()
    return [
        DeviceSpec(d["id"], d["kind"], d["protocol"], d["room_id"], {**d["config"], "relock_after_s": "1"})
        for d in listed
    ]


@contextlib.asynccontextmanager
async def _edge_process(config_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gatehouse",
        "edge",
        "run",
        "--config",
        str(config_path),
        "--log-level",
        "ERROR",
        cwd=ROOT,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(15):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


SERVER_PROTOCOLS = frozenset({"modbus", "escpos", "tcp"})


async def _join(stack: contextlib.AsyncExitStack, specs: list[DeviceSpec], mqtt_port: int) -> None:
    """Start a group of simulated devices, trying the group again if the broker was too busy for it."""
    for attempt in range(JOIN_TRIES):
        group = SimulatedStore(specs, mqtt_host="127.0.0.1", mqtt_port=mqtt_port)
        try:
            await stack.enter_async_context(group)
            return
        except TimeoutError:
            if attempt == JOIN_TRIES - 1:
                raise
            await asyncio.sleep(1.0)


async def _settle(pid: int, *, idle_percent: float = 20.0, window_s: float = 0.5) -> None:
    """Wait until the process's CPU use over `window_s` drops below `idle_percent`."""
    hz = os.sysconf("SC_CLK_TCK")
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while True:
            before = _cpu_ticks(pid)
            await asyncio.sleep(window_s)
            if (_cpu_ticks(pid) - before) / hz / window_s * 100 < idle_percent:
                return


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def bench_edge_footprint(seconds: float = 60.0) -> dict[str, Any]:
    """The edge process's CPU % and resident MB with 60 rooms and 300 devices at normal polling."""
    with tempfile.TemporaryDirectory(prefix="gh-bench-edge-") as tmp:
        async with DemoChain(Path(tmp), edges=[]) as chain:
            store = chain.store("Demo Store A")
            specs = await _grow_store(chain, store)
            mqtt_port, panel_port = free_port(), free_port()
            config = store.config.model_copy(
                update={
                    "mqtt": ListenConfig(port=mqtt_port),
                    "panel": ListenConfig(port=panel_port),
                    "devices": DeviceSettings(),
                }
            )
            path = Path(tmp) / "bench-store.yaml"
            path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
            # Devices that are servers (Modbus, ESC/POS, TCP scanners) listen before the edge starts:
            # an edge retrying a closed loopback port in the ephemeral range can connect to itself
            # and take the port the simulator was about to listen on.
            servers = [spec for spec in specs if spec.protocol in SERVER_PROTOCOLS]
            clients = [spec for spec in specs if spec.protocol not in SERVER_PROTOCOLS]
            async with contextlib.AsyncExitStack() as simulators:
                await simulators.enter_async_context(
                    SimulatedStore(servers, mqtt_host="127.0.0.1", mqtt_port=mqtt_port)
                )
                process = await simulators.enter_async_context(_edge_process(path))
                login = chain.panel_login(store)
                panel = await simulators.enter_async_context(
                    PanelClient(f"http://127.0.0.1:{panel_port}", login.login, login.password)
                )

                async def linked() -> dict[str, Any] | None:
                    with contextlib.suppress(httpx.TransportError, ValueError):
                        if not await panel.ready():
                            return None
                        state: dict[str, Any] = await panel.get("/api/state")
                        devices = sum(len(r["devices"]) for r in state["rooms"]) + len(state["store_devices"])
                        if state["link_connected"] and devices >= len(specs):
                            return state
                    return None

                await wait_until(
                    linked, timeout=STEP_TIMEOUT_S, what="the edge to link and learn its devices"
                )
                # MQTT devices join in groups, as a store's do when it powers up: amqtt chokes on
                # hundreds of clients connecting in the same instant.
                for start in range(0, len(clients), JOIN_GROUP):
                    await _join(simulators, clients[start : start + JOIN_GROUP], mqtt_port)
                    await _settle(process.pid)

                async def online() -> bool:
                    state = await linked()
                    if state is None:
                        return False
                    views = [d for r in state["rooms"] for d in r["devices"]] + state["store_devices"]
                    seen = sum(1 for d in views if d["availability"] == "online")
                    return seen >= len(specs) * 0.95

                await wait_until(online, timeout=STEP_TIMEOUT_S, what="the devices to be seen online")
                pid = process.pid
                hz = os.sysconf("SC_CLK_TCK")
                ticks, started = _cpu_ticks(pid), time.monotonic()
                rss = _rss_mb(pid)
                deadline = started + seconds
                while time.monotonic() < deadline:
                    await asyncio.sleep(min(SAMPLE_S, max(deadline - time.monotonic(), 0)))
                    rss = max(rss, _rss_mb(pid))
                elapsed = time.monotonic() - started
                cpu = (_cpu_ticks(pid) - ticks) / hz / elapsed * 100
    return {
        "rooms": ROOMS,
        "devices": len(specs),
        "rss_mb": round(rss, 1),
        "cpu_percent": round(cpu, 2),
    }


async def bench_outbox_flush(events: int = 10_000) -> dict[str, Any]:
    """Queue `events` with the cloud down, bring it up, time until all are acknowledged; count lost/twice."""
    with tempfile.TemporaryDirectory(prefix="gh-bench-flush-") as tmp:
        async with DemoChain(Path(tmp), edges=["Demo Store A"]) as chain:
            store = chain.store("Demo Store A")
            edge = store.running_edge()
            await wait_until(_drained(edge.store), timeout=STEP_TIMEOUT_S, what="the first events to go")
            await chain.stop_cloud()
            first_seq: int | None = None
            for start in range(0, events, FLUSH_BATCH):
                batch = [
                    NewEvent(
                        "device_state", int(time.time() * 1000), {"device_id": "bench", "state": f"s{i}"}
                    )
                    for i in range(start, min(start + FLUSH_BATCH, events))
                ]
                seqs = await edge.store.append_events(batch)
                first_seq = seqs[0] if first_seq is None else first_seq
            assert first_seq is not None
            last_seq = first_seq + events - 1
            await chain.start_cloud()
            started = time.perf_counter()  # the cloud is up: the edge reconnects and flushes
            await wait_until(_drained(edge.store), timeout=STEP_TIMEOUT_S, what="the outbox to drain")
            seconds = time.perf_counter() - started
            edge_id = edge.link.identity.edge_id if edge.link.identity is not None else ""
            async with chain.running_cloud().sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(func.count(EdgeEvent.id), func.count(func.distinct(EdgeEvent.seq))).where(
                            EdgeEvent.edge_id == edge_id,
                            EdgeEvent.seq >= first_seq,
                            EdgeEvent.seq <= last_seq,
                        )
                    )
                ).one()
    recorded, distinct = int(rows[0]), int(rows[1])
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "lost": events - distinct,
        "duplicated": recorded - distinct,
    }


def _drained(store: EdgeStore) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        depth: int = await store.outbox_depth()
        return depth == 0

    return probe


__all__ = ["bench_edge_footprint", "bench_outbox_flush"]
