"""Helpers of the auth tests: a cloud on a FakeClock, users made through the API, logins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from cloud.auth.passwords import Passwords
from cloud.bootstrap import CloudServer
from cloud.clock import FakeClock
from tests.integration.cloud.conftest import cloud_settings

PASSWORD = "correct horse battery"


def cheap_passwords() -> Passwords:
    """Still argon2id, with tiny costs: the matrix logs in many users."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@asynccontextmanager
async def fake_clock_cloud(db_url: str, data_dir: Path, *, cheap: bool = False) -> AsyncIterator[CloudServer]:
    """A running cloud whose clock moves only when the test says."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    async with CloudServer(cloud_settings(db_url, data_dir), clock=clock) as server:
        if cheap:
            assert server.app is not None
            server.app.state.gatehouse.passwords = cheap_passwords()
        yield server


def fake_clock(cloud: CloudServer) -> FakeClock:
    """The cloud's FakeClock."""
    assert isinstance(cloud.clock, FakeClock)
    return cloud.clock


async def create_user(
    api: httpx.AsyncClient,
    login: str,
    role: str,
    *,
    region_ids: list[str] | None = None,
    store_ids: list[str] | None = None,
    password: str = PASSWORD,
) -> dict[str, Any]:
    """Create a user through the API (the caller must be allowed to)."""
    response = await api.post(
        "/api/v1/users",
        json={
            "login": login,
            "role": role,
            "password": password,
            "region_ids": region_ids or [],
            "store_ids": store_ids or [],
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(cloud: CloudServer, name: str, password: str = PASSWORD) -> httpx.Response:
    """POST /auth/login with a fresh client."""
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as client:
        return await client.post("/api/v1/auth/login", json={"login": name, "password": password})


async def session_client(cloud: CloudServer, name: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """A client signed in as a user by its session token (the caller closes it)."""
    response = await login(cloud, name, password)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    return httpx.AsyncClient(
        base_url=cloud.http_url, headers={"Authorization": f"Bearer {token}"}, timeout=15
    )
