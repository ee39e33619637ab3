"""The edge store: idempotent store data, snapshots that replace, an outbox whose seqs are never reused."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.records import (
    Booking,
    Change,
    Device,
    ItemKind,
    NewEvent,
    Redemption,
    Room,
    RoomSession,
    StoreInfo,
    Tombstone,
)
from edge.sessions.model import RoomState
from edge.store import EdgeStore, StoreClosed, Tx

CHANGES: list[Change] = [
    StoreInfo("s1", "t1", "Store A", "Asia/Shanghai", 600, (1, 2)),
    Room("r1", "Room 1", "mahjong"),
    Room("r2", "Room 2", "ktv"),
    Device("lock-1", "lock", "mqtt", "r1"),
    Device("pw-1", "power", "modbus", "r1", {"host": "10.0.0.5", "port": "502", "channels": "3"}),
    Booking("B1", "r1", 1_800_000_000, 1_800_003_600, "ORD-1", "1234"),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        yield store


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every store-data table (read with a separate connection)."""
    with sqlite3.connect(path) as conn:
        tables = ["meta", "store_info", "rooms", "devices", "bookings"]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}


async def test_store_data_and_its_cursor_are_applied_together(store: EdgeStore) -> None:
    await store.apply_store_data(True, 7, CHANGES)
    assert await store.cursor() == 7
    assert await store.store_info() == CHANGES[0]
    assert [r.id for r in await store.rooms()] == ["r1", "r2"]
    assert await store.device("pw-1") == CHANGES[4]
    assert await store.booking("B1") == CHANGES[5]


async def test_applying_the_same_store_data_twice_changes_nothing(store: EdgeStore) -> None:
    await store.apply_store_data(False, 7, CHANGES)
    before = dump(store.path)
    await store.apply_store_data(False, 7, CHANGES)
    assert dump(store.path) == before


async def test_a_delta_updates_and_tombstones_delete(store: EdgeStore) -> None:
    await store.apply_store_data(True, 7, CHANGES)
    await store.apply_store_data(
        False,
        9,
        [
            Room("r1", "Room One", "mahjong"),
            Tombstone(ItemKind.ROOM, "r2"),
            Tombstone(ItemKind.BOOKING, "B1"),
        ],
    )
    assert await store.rooms() == [Room("r1", "Room One", "mahjong")]
    assert await store.booking("B1") is None
    assert await store.cursor() == 9


async def test_a_late_delta_never_moves_the_cursor_back(store: EdgeStore) -> None:
    await store.apply_store_data(False, 12, [Room("r1")])
    await store.apply_store_data(False, 10, [Room("r1")])
    assert await store.cursor() == 12


async def test_a_snapshot_replaces_everything_held(store: EdgeStore) -> None:
    await store.apply_store_data(True, 7, CHANGES)
    await store.apply_store_data(True, 3, [Room("r9", "Hall", "cinema")])
    assert await store.rooms() == [Room("r9", "Hall", "cinema")]
    assert await store.devices() == []
    assert await store.booking("B1") is None
    assert await store.store_info() is None
    assert await store.cursor() == 3


async def test_a_snapshot_keeps_local_sessions_and_redemptions(store: EdgeStore) -> None:
    await store.apply_store_data(True, 7, CHANGES)
    session = RoomSession("r1", RoomState.IN_USE, "B1", 1.0, 2.0)
    await store.record([], session=session, redemption=Redemption("B1", "r1", 1.0, True))
    await store.apply_store_data(True, 8, CHANGES)
    assert await store.session("r1") == session
    assert await store.redemption("B1") == Redemption("B1", "r1", 1.0, True)


async def test_a_failed_apply_leaves_nothing_behind(store: EdgeStore) -> None:
    await store.apply_store_data(True, 7, CHANGES)
    before = dump(store.path)
    bad = Booking("B2", "r1", 1, 2, "O", "1")
    object.__setattr__(bad, "starts_at", None)  # NOT NULL violation half way through
    with pytest.raises(sqlite3.IntegrityError):
        await store.apply_store_data(False, 8, [Room("r3"), bad])
    assert dump(store.path) == before


async def test_outbox_seqs_are_never_reused_after_deletes(store: EdgeStore) -> None:
    first = await store.append_events([NewEvent("x", 1, {"n": n}) for n in range(3)])
    assert first == [1, 2, 3]
    assert await store.ack(first) == 3
    assert await store.outbox_depth() == 0
    second = await store.append_events([NewEvent("x", 2, {})])
    assert second == [4]


async def test_outbox_seqs_survive_a_reopen(tmp_path: Path) -> None:
    async with EdgeStore(tmp_path / "edge.db") as store:
        seqs = await store.append_events([NewEvent("x", 1, {}), NewEvent("y", 1, {})])
        await store.ack(seqs)
    async with EdgeStore(tmp_path / "edge.db") as store:
        assert await store.append_events([NewEvent("z", 1, {})]) == [3]


async def test_reopening_with_events_waiting_wakes_the_sender(tmp_path: Path) -> None:
    async with EdgeStore(tmp_path / "edge.db") as store:
        await store.append_events([NewEvent("x", 1, {})])
    async with EdgeStore(tmp_path / "edge.db") as store:
        assert store.outbox_changed.is_set()


async def test_the_outbox_reads_in_seq_order_after_a_seq_in_batches(store: EdgeStore) -> None:
    await store.append_events([NewEvent("x", n, {"n": n}) for n in range(600)])
    batch = await store.outbox_after(0, 1000)
    assert len(batch) == 500
    assert [e.seq for e in batch] == list(range(1, 501))
    assert [e.seq for e in await store.outbox_after(590)] == list(range(591, 601))
    assert batch[0].payload_json == '{"n":0}'


async def test_a_commit_with_events_pokes_the_sender(store: EdgeStore) -> None:
    store.outbox_changed.clear()
    await store.append_events([])
    assert not store.outbox_changed.is_set()
    await store.append_events([NewEvent("x", 1, {})])
    assert store.outbox_changed.is_set()


async def test_acking_unknown_or_repeated_seqs_is_harmless(store: EdgeStore) -> None:
    seqs = await store.append_events([NewEvent("x", 1, {})])
    assert await store.ack(seqs) == 1
    assert await store.ack(seqs) == 0
    assert await store.ack([999]) == 0


async def test_a_command_keeps_its_first_result(store: EdgeStore) -> None:
    assert await store.command_result("c1") is None
    assert await store.save_command_result("c1", '{"first":true}', 1.0) == '{"first":true}'
    assert await store.save_command_result("c1", '{"second":true}', 2.0) == '{"first":true}'
    assert await store.command_result("c1") == '{"first":true}'


async def test_the_database_uses_wal_and_full_sync(store: EdgeStore) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.path.stat().st_mode & 0o077 == 0


async def test_a_snapshot_reads_the_last_commit_while_a_write_is_in_flight(store: EdgeStore) -> None:
    await store.apply_store_data(True, 1, CHANGES)
    entered, release = threading.Event(), threading.Event()

    def slow_write(tx: Tx) -> None:
        tx.conn.execute("DELETE FROM bookings")
        entered.set()
        release.wait(10)

    write = asyncio.create_task(store.transact(slow_write))
    try:
        await asyncio.to_thread(entered.wait, 10)
        # The writer thread is held inside its transaction: a snapshot neither waits for it nor sees it.
        async with asyncio.timeout(5):
            seen = await store.snapshot(lambda tx: (tx.booking("B1"), tx.device("lock-1")))
        assert seen == (CHANGES[5], CHANGES[3])
    finally:
        release.set()
        await write
    assert await store.snapshot(lambda tx: tx.booking("B1")) is None


async def test_a_snapshot_cannot_write(store: EdgeStore) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await store.snapshot(lambda tx: tx.add_events([NewEvent("x", 1, {})]))
    assert await store.outbox_depth() == 0


async def test_a_closed_store_refuses_snapshots(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    with pytest.raises(StoreClosed):
        await store.snapshot(lambda tx: tx.store_info())
    async with store:
        assert await store.snapshot(lambda tx: tx.store_info()) is None
    with pytest.raises(StoreClosed):
        await store.snapshot(lambda tx: tx.store_info())
