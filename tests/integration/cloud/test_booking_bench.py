"""The booking benchmark runs end to end on both databases (a small run; `make bench` runs the real one)."""

from __future__ import annotations

from cloud.booking.bench import bench_booking, percentile


async def test_a_small_benchmark_holds_without_overlap_and_one_racer_wins(db_url: str) -> None:
    figures = await bench_booking(db_url, clients=30, rooms=3, race_clients=10, seed=7)
    assert figures["overlaps"] == 0
    assert (figures["race_clients"], figures["race_winners"]) == (10, 1)
    assert figures["holds"] == 30 and figures["holds_per_s"] > 0
    assert figures["p99_ms"] > 0 and figures["race_p99_ms"] > 0
    assert set(figures) >= {
        "holds_per_s",
        "p99_ms",
        "overlaps",
        "race_clients",
        "race_winners",
        "race_p99_ms",
    }


def test_the_p99_is_the_nearest_rank() -> None:
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 99) == 0.0


async def test_workers_in_processes_of_their_own_share_one_database_without_overlap(db_url: str) -> None:
    figures = await bench_booking(db_url, clients=30, rooms=3, race_clients=10, seed=7, workers=2)
    assert figures["workers"] == 2 and figures["holds"] == 30
    assert figures["overlaps"] == 0
    assert (figures["race_clients"], figures["race_winners"]) == (10, 1)
