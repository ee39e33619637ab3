"""`gatehouse bench`: the benchmarks, each beside a baseline measured in the same run.

Figures are printed and merged into .gatehouse/bench.json (an object: benchmark name -> figures).
These machines are noisy: every figure is a median or percentile over many samples, and every
latency is reported beside the bare protocol round trip measured on the same machine, same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
from rich.console import Console
from rich.progress import Progress

from cloud.booking.bench import bench_booking
from gatehouse.bench_devices import bench_device_commands
from gatehouse.bench_edge import bench_edge_footprint, bench_outbox_flush
from gatehouse.bench_panel import bench_panel_push
from gatehouse.chain import DemoChain, RoomDevices, draw_code, free_port, wait_until
from gatehouse.measure import ms, percentile
from gatehouse.postgres import throwaway_postgres

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
STEP_TIMEOUT_S = 10.0

Benchmark = Callable[[Console, "BenchOptions"], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """How much each benchmark measures (defaults: the figures the issues ask for)."""

    scans: int = 1000
    samples: int = 500
    footprint_s: float = 60.0


class _Watcher:
    """One MQTT client that publishes and waits for the next matching message, with no polling."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self._waiting: tuple[str, Callable[[bytes], bool], asyncio.Future[None]] | None = None
        self._reader = asyncio.create_task(self._read(), name="bench-reader")

    async def _read(self) -> None:
        async for message in self.client.messages:
            waiting = self._waiting
            if waiting is None or message.retain or not message.topic.matches(waiting[0]):
                continue
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if waiting[1](payload) and not waiting[2].done():
                waiting[2].set_result(None)

    async def round_trip(
        self, topic: str, payload: bytes, watch: str, accept: Callable[[bytes], bool]
    ) -> float:
        """Publish payload on topic; seconds until a message on watch that accept() likes."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting = (watch, accept, done)
        started = time.perf_counter()
        await self.client.publish(topic, payload, qos=1)
        async with asyncio.timeout(STEP_TIMEOUT_S):
            await done
        elapsed = time.perf_counter() - started
        self._waiting = None
        return elapsed

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


def _state_is(state: str) -> Callable[[bytes], bool]:
    def accept(payload: bytes) -> bool:
        try:
            return bool(json.loads(payload).get("state") == state)
        except (ValueError, AttributeError):
            return False

    return accept


async def bench_scan_to_unlock(console: Console, options: BenchOptions) -> dict[str, Any]:
    """Scan-to-unlock at the edge (scan message -> the simulated lock's "unlocked") vs bare MQTT QoS 1."""
    scans = options.scans
    with tempfile.TemporaryDirectory(prefix="gh-bench-") as tmp:
        async with DemoChain(Path(tmp), relock_after_s=0.0, edges=["Demo Store A"]) as chain:
            store = chain.store("Demo Store A")
            edge = store.running_edge()
            begin = datetime.now(UTC).replace(second=0, microsecond=0)
            bookings: list[tuple[RoomDevices, dict[str, Any]]] = []
            for room in store.rooms:
                bookings.append((room, await chain.book(room.id, begin, begin + timedelta(hours=2))))

            async def edge_has_them() -> bool:
                return all([await edge.store.booking(b["ref"]) is not None for _r, b in bookings])

            await wait_until(edge_has_them, timeout=STEP_TIMEOUT_S, what="the bookings at the edge")

            async with aiomqtt.Client(
                "127.0.0.1", edge.mqtt_port, identifier="gatehouse-bench", socket_options=NODELAY
            ) as client:
                await client.subscribe("gh/dev/+/state", qos=1)
                await client.subscribe("bench/echo", qos=1)
                watcher = _Watcher(client)
                try:
                    latencies, baseline, quiet = [], [], []
                    with Progress(console=console, transient=True) as progress:
                        # The broker at rest first: the bare round trip with nothing else going on.
                        task = progress.add_task("bare round trip, quiet broker", total=scans)
                        for i in range(scans):
                            quiet.append(
                                await watcher.round_trip(
                                    "bench/echo", str(i).encode(), "bench/echo", lambda _p: True
                                )
                            )
                            progress.advance(task)
                        # Then each scan followed by one bare round trip, so both meet the same load
                        # (the edge's aftermath of the scan before, its outbox reaching the cloud, ...).
                        task = progress.add_task(
                            "scan -> unlock, then a bare MQTT QoS 1 round trip", total=scans
                        )
                        for i in range(scans):
                            room, booking = bookings[i % len(bookings)]
                            lock_topic = f"gh/dev/{room.lock}/state"
                            code = draw_code(booking, time.time()).encode()
                            latencies.append(
                                await watcher.round_trip(
                                    f"gh/dev/{room.scanner}/scan", code, lock_topic, _state_is("unlocked")
                                )
                            )
                            baseline.append(
                                await watcher.round_trip(
                                    "bench/echo", str(i).encode(), "bench/echo", lambda _p: True
                                )
                            )
                            progress.advance(task)
                finally:
                    await watcher.close()
    p99, rtt_p99, quiet_p99 = percentile(latencies, 99), percentile(baseline, 99), percentile(quiet, 99)
    return {
        "scans": scans,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(p99),
        # the bare round trip interleaved with the scans (same load)
        "mqtt_rtt_p50_ms": ms(percentile(baseline, 50)),
        "mqtt_rtt_p99_ms": ms(rtt_p99),
        "ratio_p99": round(p99 / rtt_p99, 2),
        # the bare round trip on the broker at rest, before the scans
        "quiet_rtt_p50_ms": ms(percentile(quiet, 50)),
        "quiet_rtt_p99_ms": ms(quiet_p99),
        "ratio_p99_quiet": round(p99 / quiet_p99, 2),
    }


async def _booking(console: Console, options: BenchOptions) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gh-bench-") as tmp:
        with console.status("booking on SQLite..."):
            results["sqlite"] = await bench_booking(f"sqlite+aiosqlite:///{tmp}/bench.db")
        with throwaway_postgres(free_port()) as url, console.status("booking on PostgreSQL..."):
            results["postgresql"] = await bench_booking(url)
        # Several stateless cloud workers on one PostgreSQL (DESIGN "Scale"): one process per core,
        # each with its own loop and pool, on a fresh cluster so both runs start from the same data.
        workers = max(2, os.cpu_count() or 1)
        with throwaway_postgres(free_port()) as url, console.status(f"booking, {workers} workers..."):
            results[f"postgresql_{workers}_workers"] = await bench_booking(url, workers=workers)
    return results


async def _edge_footprint(console: Console, options: BenchOptions) -> dict[str, Any]:
    with console.status(f"edge with 60 rooms and 300 devices for {options.footprint_s:.0f} s..."):
        return await bench_edge_footprint(options.footprint_s)


async def _outbox_flush(console: Console, options: BenchOptions) -> dict[str, Any]:
    with console.status("10,000 events queued offline, then the link returns..."):
        return await bench_outbox_flush(10_000)


async def _device_commands(console: Console, options: BenchOptions) -> dict[str, Any]:
    with console.status("device commands per protocol..."):
        return await bench_device_commands(options.samples)


async def _panel_push(console: Console, options: BenchOptions) -> dict[str, Any]:
    return await bench_panel_push(console)


BENCHMARKS: dict[str, Benchmark] = {
    "scan_to_unlock": bench_scan_to_unlock,
    "device_commands": _device_commands,
    "booking": _booking,
    "outbox_flush": _outbox_flush,
    "edge_footprint": _edge_footprint,
    "panel_push": _panel_push,
}


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def _merge(out: Path, figures: dict[str, Any]) -> None:
    try:
        existing = json.loads(out.read_text())
    except (OSError, ValueError):
        existing = {}
    if not isinstance(existing, dict):
        existing = {}
    existing.update(figures)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(existing, indent=2) + "\n")


async def run_benchmarks(out: Path, *, only: list[str], options: BenchOptions) -> None:
    """Run the chosen benchmarks (all by default), print them and merge them into out."""
    console = Console()
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    figures: dict[str, Any] = {"machine": _machine()}
    for name, benchmark in BENCHMARKS.items():
        if only and name not in only:
            continue
        console.print(f"[bold]{name}[/]")
        figures[name] = await benchmark(console, options)
        console.print_json(data=figures[name])
        # Saved after each one: a later benchmark that fails loses none of the earlier figures.
        await asyncio.to_thread(_merge, out, figures)
    console.print(f"written to {out}")


__all__ = ["BENCHMARKS", "BenchOptions", "run_benchmarks"]
