"""A cloud on a fake clock wired to a running payment simulator, with a tenant and two priced stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from cloud.bootstrap import CloudServer
from cloud.clock import FakeClock
from cloud.settings import CloudSettings
from simulators.payments import PaymentSimServer, PaymentSimulator
from tests.integration.cloud.conftest import Tenant, cloud_settings, new_tenant

SECRET = b"test-payment-secret"
PLAN: dict[str, Any] = {
    "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 6000}],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 9000}],
}


@dataclass
class PayWorld:
    """The cloud, the provider simulator, a tenant's API and two stores (room ids per store)."""

    cloud: CloudServer
    sim: PaymentSimulator
    clock: FakeClock
    tenant: Tenant
    rooms_a: list[str]
    rooms_b: list[str]

    @property
    def api(self) -> httpx.AsyncClient:
        """The tenant's API client."""
        return self.tenant.api

    def slot(self, days: int, hour: int, hours: int = 2) -> tuple[str, str]:
        """ISO start and end `days` after the clock's day at `hour` UTC."""
        day = self.clock.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days)
        start = day + timedelta(hours=hour)
        return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


async def _store(api: httpx.AsyncClient, name: str) -> list[str]:
    region = (await api.post("/api/v1/regions", json={"name": f"{name} region"})).json()
    store = await api.post(
        "/api/v1/stores", json={"region_id": region["id"], "name": name, "city": "Chengdu"}
    )
    assert store.status_code == 201, store.text
    rooms = []
    for room_name in ("Mahjong 1", "Mahjong 2"):
        room = await api.post(
            "/api/v1/rooms",
            json={
                "store_id": store.json()["id"],
                "name": room_name,
                "kind": "mahjong",
                "capacity_min": 1,
                "capacity_max": 6,
                "price_plan": PLAN,
            },
        )
        assert room.status_code == 201, room.text
        rooms.append(room.json()["id"])
    return rooms


def paying_settings(
    db_url: str, data_dir: Path, provider: PaymentSimServer, **overrides: object
) -> CloudSettings:
    """Settings of a test cloud taking payments through the simulated provider."""
    return cloud_settings(
        db_url,
        data_dir,
        payment_provider_url=provider.url,
        payment_secret=SecretStr(SECRET.decode()),
        **overrides,
    )


@pytest.fixture
async def pay_world(db_url: str, tmp_path: Path) -> AsyncIterator[PayWorld]:
    """A running simulator and a cloud paying through it, both on one fake clock."""
    clock = FakeClock(datetime.now(UTC).replace(second=0, microsecond=0))
    async with PaymentSimServer(SECRET, now=lambda: clock.now().timestamp()) as server:
        settings = paying_settings(db_url, tmp_path / "cloud", server)
        async with CloudServer(settings, clock=clock) as cloud:
            tenant = await new_tenant(cloud, "Pay Tenant")
            async with tenant.api:
                rules = await tenant.api.put(
                    "/api/v1/booking-settings/chain", json={"values": {"deposit_pct": 30, "hold_min": 15}}
                )
                assert rules.status_code == 200, rules.text
                rooms_a = await _store(tenant.api, "Store A")
                rooms_b = await _store(tenant.api, "Store B")
                yield PayWorld(cloud, server.sim, clock, tenant, rooms_a, rooms_b)
