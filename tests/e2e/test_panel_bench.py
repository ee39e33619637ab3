"""The panel push benchmark runs end to end: each staff extension shows on the open live grid."""

from __future__ import annotations

from rich.console import Console

from gatehouse.bench_panel import bench_panel_push


async def test_the_panel_push_benchmark_measures_every_sample() -> None:
    figures = await bench_panel_push(Console(quiet=True), samples=3)
    assert figures["samples"] == 3
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
