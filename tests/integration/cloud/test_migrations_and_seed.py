"""Migrations match the models on both backends; demo seeding is idempotent."""

from __future__ import annotations

from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, select

from cloud.bootstrap import CloudServer
from cloud.db import make_engine, migrate
from cloud.devices.tables import Device
from cloud.edgelink import feed
from cloud.metadata import target_metadata
from cloud.seed import DEMO_ROOMS, DemoDevice, seed_demo
from cloud.tenancy.tables import Room, Store


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, target_metadata))


async def test_migrating_again_is_a_no_op_and_the_schema_matches_the_models(db_url: str) -> None:
    await migrate(db_url)
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(_diffs)
    finally:
        await engine.dispose()
    assert diffs == []


DEVICES = {
    "Demo Store A": [
        DemoDevice(kind="lock", protocol="mqtt", room="Mahjong 1", id="a-lock-m1"),
        DemoDevice(
            kind="power", protocol="modbus", room="Mahjong 1", config={"host": "127.0.0.1", "port": "5020"}
        ),
        DemoDevice(kind="scanner", protocol="tcp", room=None, config={"host": "127.0.0.1", "port": "7000"}),
    ],
    "Demo Store B": [DemoDevice(kind="lock", protocol="mqtt", room="KTV 1", id="b-lock-k1")],
}


async def test_demo_seeding_is_idempotent_and_its_token_works(cloud: CloudServer) -> None:
    first = await seed_demo(
        cloud.sessionmaker,
        cipher=cloud.cipher,
        notifier=cloud.notifier,
        devices_by_store=DEVICES,
        api_token="gh_demo-token",
    )
    second = await seed_demo(
        cloud.sessionmaker, cipher=cloud.cipher, devices_by_store=DEVICES, api_token="gh_demo-token"
    )
    assert first == second
    assert [s.name for s in first.stores] == ["Demo Store A", "Demo Store B"]
    store_a = first.store("Demo Store A")
    assert [(r.name, r.kind) for r in store_a.rooms] == list(DEMO_ROOMS)
    assert {d.id for d in store_a.devices} >= {"a-lock-m1"} and len(store_a.devices) == 3
    scanner = next(d for d in store_a.devices if d.kind == "scanner")
    assert scanner.room_id is None
    assert next(d for d in store_a.devices if d.kind == "power").room_id == store_a.room("Mahjong 1").id
    async with cloud.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Store)) == 2
        assert await session.scalar(select(func.count()).select_from(Room)) == 12
        assert await session.scalar(select(func.count()).select_from(Device)) == 4
        snapshot = await feed.read_sync(session, store_a.id, 0, cloud.clock.now())
    assert len(snapshot.items) == 1 + 6 + 3

    async with httpx.AsyncClient(
        base_url=cloud.http_url, headers={"Authorization": "Bearer gh_demo-token"}
    ) as api:
        stores = (await api.get("/api/v1/stores")).json()
    assert {s["name"] for s in stores} == {"Demo Store A", "Demo Store B"}

    fresh = await seed_demo(cloud.sessionmaker, cipher=cloud.cipher)
    assert fresh.api_token != "gh_demo-token" and fresh.tenant_id == first.tenant_id
