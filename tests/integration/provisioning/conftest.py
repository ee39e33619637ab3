"""Fixtures of the provisioning integration tests: a real cloud (SQLite) seeded with the demo chain.

The cloud is started as tests/integration/cloud/conftest.py does (a migrated SQLite template
copied per test); provisioning itself reaches it only through its HTTP API.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from cloud.bootstrap import CloudServer
from cloud.db import migrate
from cloud.seed import DemoSeed, seed_demo
from cloud.settings import CloudSettings
from provisioning.api import CloudApi

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


def _run_blocking(coro: Coroutine[Any, Any, None]) -> None:
    """Run coro to completion in a fresh loop on another thread (fixtures may be set up inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def provisioning_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("provisioning-template") / "cloud.db"
    _run_blocking(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def _settings(template: Path, data_dir: Path) -> CloudSettings:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "cloud.db"
    shutil.copyfile(template, db)
    values: dict[str, object] = {
        "data_dir": data_dir,
        "db_url": f"sqlite+aiosqlite:///{db}",
        "http_port": 0,
        "grpc_port": 0,
        "enroll_port": 0,
        "master_key": SecretStr(MASTER_KEY),
    }
    return CloudSettings.model_validate(values)


@dataclass
class DemoCloud:
    """A running cloud seeded with the demo chain, and an API client of the demo tenant."""

    server: CloudServer
    seed: DemoSeed
    api: CloudApi


@pytest.fixture
async def demo_cloud(provisioning_db_template: Path, tmp_path: Path) -> AsyncIterator[DemoCloud]:
    """A cloud on its own SQLite file, seeded like `gatehouse demo` seeds it (no edges running)."""
    async with CloudServer(_settings(provisioning_db_template, tmp_path / "cloud")) as server:
        seed = await seed_demo(server.sessionmaker, cipher=server.cipher, notifier=server.notifier)
        async with CloudApi(server.http_url, seed.api_token) as api:
            yield DemoCloud(server, seed, api)


@dataclass(frozen=True)
class ThreadedCloud:
    """A seeded cloud served from a thread of its own, for tests that run the (synchronous) CLI."""

    url: str
    token: str
    demo_file: Path
    ca_pem: bytes
    seed: DemoSeed


@pytest.fixture
def threaded_cloud(provisioning_db_template: Path, tmp_path: Path) -> Iterator[ThreadedCloud]:
    """The demo cloud running in a background thread's loop, with a demo.json pointing at it."""
    ready: dict[str, Any] = {}
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with CloudServer(_settings(provisioning_db_template, tmp_path / "cloud")) as server:
                seed = await seed_demo(server.sessionmaker, cipher=server.cipher, notifier=server.notifier)
                ready.update(url=server.http_url, seed=seed, ca_pem=server.ca_pem)
                started.set()
                await stop.wait()
        except BaseException as err:
            ready["error"] = err
            started.set()
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), name="cloud", daemon=True)
    thread.start()
    assert started.wait(60), "the cloud did not start"
    if "error" in ready:
        raise ready["error"]
    seed: DemoSeed = ready["seed"]
    demo_file = tmp_path / "demo.json"
    demo_file.write_text(json.dumps({"cloud": {"url": ready["url"]}, "api_token": seed.api_token}))
    try:
        yield ThreadedCloud(ready["url"], seed.api_token, demo_file, ready["ca_pem"], seed)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
