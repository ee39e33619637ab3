"""Fixtures of the cloud integration tests: a migrated database per test (SQLite and PostgreSQL), a cloud."""

from __future__ import annotations

import asyncio
import base64
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from cloud.auth.services import create_tenant_with_token
from cloud.bootstrap import CloudServer
from cloud.clock import SystemClock
from cloud.db import migrate
from cloud.settings import CloudSettings

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
TEMPLATE_DB = "gh_cloud_template"


def _run_blocking(coro: Coroutine[Any, Any, None]) -> None:
    """Run coro to completion in a fresh loop on another thread (fixtures may be set up inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


def _admin_dsn(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql", database="gatehouse").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("cloud-template") / "cloud.db"
    _run_blocking(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """A migrated PostgreSQL database used as the template of each test's database."""

    async def build() -> None:
        conn = await asyncpg.connect(_admin_dsn(postgres_server))
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        finally:
            await conn.close()
        await migrate(
            make_url(postgres_server).set(database=TEMPLATE_DB).render_as_string(hide_password=False)
        )

    _run_blocking(build())
    return TEMPLATE_DB


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated cloud database of its own for this test, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "cloud.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    server: str = request.getfixturevalue("postgres_server")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_admin_dsn(server))
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_name}")
    finally:
        await conn.close()
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    conn = await asyncpg.connect(_admin_dsn(server))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


def cloud_settings(db_url: str, data_dir: Path, **overrides: object) -> CloudSettings:
    """Settings of a test cloud on free loopback ports."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "db_url": db_url,
        "http_port": 0,
        "grpc_port": 0,
        "enroll_port": 0,
        "master_key": SecretStr(MASTER_KEY),
        **overrides,
    }
    return CloudSettings.model_validate(values)


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A running cloud (HTTP + gRPC) on its own database."""
    async with CloudServer(cloud_settings(db_url, tmp_path / "cloud")) as server:
        yield server


@dataclass
class Tenant:
    """A tenant with an API client authenticated as it."""

    id: str
    token: str
    api: httpx.AsyncClient


async def new_tenant(cloud: CloudServer, name: str) -> Tenant:
    """Create a tenant (service) and an HTTP client holding its token."""
    async with cloud.sessionmaker() as session:
        tenant, token = await create_tenant_with_token(session, name, clock=SystemClock())
    api = httpx.AsyncClient(base_url=cloud.http_url, headers={"Authorization": f"Bearer {token}"}, timeout=15)
    return Tenant(tenant.id, token, api)


@pytest.fixture
async def tenant_a(cloud: CloudServer) -> AsyncIterator[Tenant]:
    """Tenant A."""
    tenant = await new_tenant(cloud, "Tenant A")
    async with tenant.api:
        yield tenant


@pytest.fixture
async def tenant_b(cloud: CloudServer) -> AsyncIterator[Tenant]:
    """Tenant B."""
    tenant = await new_tenant(cloud, "Tenant B")
    async with tenant.api:
        yield tenant


@dataclass
class StoreIds:
    """A region, a store and two rooms made through the API."""

    region_id: str
    store_id: str
    room_id: str
    other_room_id: str


async def make_store(api: httpx.AsyncClient, name: str = "Store One") -> StoreIds:
    """Create a region, a store and two rooms through the API."""
    region = (await api.post("/api/v1/regions", json={"name": f"{name} region"})).json()
    store = await api.post("/api/v1/stores", json={"region_id": region["id"], "name": name})
    assert store.status_code == 201, store.text
    store_id = store.json()["id"]
    rooms = []
    for room_name, kind in (("Mahjong 1", "mahjong"), ("KTV 1", "ktv")):
        room = await api.post("/api/v1/rooms", json={"store_id": store_id, "name": room_name, "kind": kind})
        assert room.status_code == 201, room.text
        rooms.append(room.json()["id"])
    return StoreIds(region["id"], store_id, rooms[0], rooms[1])


@pytest.fixture
async def store_a(tenant_a: Tenant) -> StoreIds:
    """A store of tenant A with two rooms."""
    return await make_store(tenant_a.api)


def future_day(days: int = 3) -> str:
    """The ISO date `days` ahead of today (UTC): inside the default 15-day booking window."""
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def wait_until(condition: Callable[[], Awaitable[bool]], *, within: float, step: float = 0.02) -> None:
    """Check condition every `step` seconds until it holds; fail after `within` seconds."""
    async with asyncio.timeout(within):
        for _ in range(int(within / step) + 1):
            if await condition():
                return
            await asyncio.sleep(step)
    raise AssertionError("condition never held")
