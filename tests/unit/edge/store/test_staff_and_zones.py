"""The edge store keeps staff and alarm zones like any store data, and opens databases of older versions."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.records import Device, ItemKind, Room, Staff, Tombstone
from edge.store import EdgeStore
from edge.store.schema import SCHEMA_VERSION

LI = Staff("u1", "Li.Na", "Li Na", "staff", "$argon2id$v=19$m=8,t=1,p=1$aaaa$bbbb", True)
WU = Staff("u2", "wu", "Wu Lei", "cleaner", "$argon2id$v=19$m=8,t=1,p=1$cccc$dddd", True)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge.db") as store:
        yield store


async def test_staff_are_found_by_username_whatever_its_case(store: EdgeStore) -> None:
    await store.apply_store_data(True, 3, [LI, WU])
    assert await store.staff_member("li.na") == LI
    assert await store.staff_member("LI.NA") == LI
    assert await store.staff_member("nobody") is None
    assert await store.staff_members() == [LI, WU]


async def test_a_staff_change_updates_and_a_tombstone_removes(store: EdgeStore) -> None:
    await store.apply_store_data(True, 3, [LI, WU])
    disabled = Staff("u1", "li.na", "Li Na", "staff", LI.password_hash, False)
    await store.apply_store_data(False, 4, [disabled, Tombstone(ItemKind.STAFF, "u2")])
    assert await store.staff_member("Li.Na") == disabled
    assert await store.staff_members() == [disabled]


async def test_a_snapshot_replaces_the_staff_held(store: EdgeStore) -> None:
    await store.apply_store_data(True, 3, [LI, WU])
    await store.apply_store_data(True, 5, [WU])
    assert await store.staff_members() == [WU]


async def test_rooms_and_devices_keep_their_alarm_zone(store: EdgeStore) -> None:
    room = Room("r1", "Room 1", "ktv", zone="floor-2")
    gate = Device("smoke-1", "smoke", "mqtt", None, {}, zone="floor-2")
    await store.apply_store_data(True, 2, [room, gate, Room("r2")])
    assert await store.room("r1") == room
    assert await store.device("smoke-1") == gate
    assert (await store.room("r2")) == Room("r2", zone="")


def _version_2_database(path: Path) -> None:
    """An edge database as the previous release left it: no staff table, no zone columns."""
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE rooms (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                settings_json TEXT NOT NULL DEFAULT '{}');
            CREATE TABLE devices (id TEXT PRIMARY KEY, room_id TEXT, kind TEXT NOT NULL,
                protocol TEXT NOT NULL, config_json TEXT NOT NULL);
            INSERT INTO rooms VALUES ('r1', 'Room 1', 'mahjong', '{}');
            INSERT INTO devices VALUES ('lock-1', 'r1', 'lock', 'mqtt', '{}');
            INSERT INTO meta VALUES ('cursor', '41');
            PRAGMA user_version=2;
            """
        )


async def test_a_database_of_the_previous_version_opens_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    _version_2_database(path)
    async with EdgeStore(path) as store:
        assert await store.cursor() == 41
        assert await store.room("r1") == Room("r1", "Room 1", "mahjong", zone="")
        assert await store.device("lock-1") == Device("lock-1", "lock", "mqtt", "r1", {}, zone="")
        assert await store.staff_members() == []
        await store.apply_store_data(False, 42, [LI, Room("r1", "Room 1", "mahjong", zone="west")])
        assert await store.staff_member("li.na") == LI
        assert (await store.room("r1")) == Room("r1", "Room 1", "mahjong", zone="west")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
