"""Reports over HTTP on SQLite and PostgreSQL: figures from real bookings, scoped to the caller's stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from cloud.booking.services import mark_redeemed
from cloud.bootstrap import CloudServer
from tests.integration.cloud.auth_support import create_user, fake_clock, fake_clock_cloud, session_client
from tests.integration.cloud.conftest import new_tenant

SH = ZoneInfo("Asia/Shanghai")
PLAN = {
    "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 6000}],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 6000}],
}
CUSTOMER = {"customer_name": "Chen Jie", "phone": "13600001357", "party_size": 2}


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud on a FakeClock (bookings are made, used and closed at the times the test says)."""
    async with fake_clock_cloud(db_url, tmp_path / "cloud", cheap=True) as server:
        yield server


@dataclass
class World:
    """Store A (two rooms, region 1) and store C (one room, region 2), with a day of bookings."""

    api: httpx.AsyncClient
    day: date
    store_a: str
    store_c: str


def local(day: date, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day.isoformat()}T{hhmm}:00").replace(tzinfo=SH)


async def _store(api: httpx.AsyncClient, name: str, rooms: int) -> tuple[str, list[str]]:
    region = (await api.post("/api/v1/regions", json={"name": f"{name} region"})).json()
    store = (await api.post("/api/v1/stores", json={"region_id": region["id"], "name": name})).json()
    ids = []
    for i in range(rooms):
        room = await api.post(
            "/api/v1/rooms",
            json={"store_id": store["id"], "name": f"Room {i + 1}", "kind": "mahjong", "price_plan": PLAN},
        )
        assert room.status_code == 201, room.text
        ids.append(room.json()["id"])
    return store["id"], ids


async def _paid(api: httpx.AsyncClient, room_id: str, day: date, start: str, end: str) -> str:
    held = await api.post(
        "/api/v1/holds",
        json={
            "room_id": room_id,
            "starts_at": local(day, start).isoformat(),
            "ends_at": local(day, end).isoformat(),
            **CUSTOMER,
        },
    )
    assert held.status_code == 201, held.text
    ref: str = held.json()["ref"]
    paid = await api.post(f"/api/v1/bookings/{ref}/confirm", json={"payment_ref": f"pay-{ref}"})
    assert paid.status_code == 200, paid.text
    return ref


async def _came(cloud: CloudServer, store_id: str, ref: str, at: datetime) -> None:
    """The customer is let in (as the edge reports it), and the booking is closed at its end."""
    clock = fake_clock(cloud)
    clock.set(at.astimezone(UTC))
    async with cloud.sessionmaker() as session:
        await mark_redeemed(session, clock, store_id=store_id, ref=ref, actor="edge:test")
        await session.commit()


@pytest.fixture
async def world(cloud: CloudServer) -> AsyncIterator[World]:
    clock = fake_clock(cloud)
    day = datetime.now(UTC).astimezone(SH).date() + timedelta(days=1)
    clock.set(local(day, "08:00").astimezone(UTC))
    tenant = await new_tenant(cloud, "Report Chain")
    async with tenant.api as api:
        a, (a1, a2) = await _store(api, "Store A", 2)
        c, (c1,) = await _store(api, "Store C", 1)
        came = await _paid(api, a1, day, "10:00", "12:00")  # 12000, redeemed and completed
        await _paid(api, a2, day, "13:00", "14:00")  # 6000, nobody came
        cancelled = await _paid(api, a1, day, "15:00", "16:00")  # 6000, cancelled 60 min before: 50% back
        other = await _paid(api, c1, day, "10:00", "13:00")  # 18000 in store C
        await _came(cloud, a, came, local(day, "10:05"))
        await _came(cloud, c, other, local(day, "10:02"))
        clock.set(local(day, "12:00").astimezone(UTC))
        for ref in (came, other):
            assert (await api.post(f"/api/v1/bookings/{ref}/complete")).status_code == 200
        clock.set(local(day, "14:00").astimezone(UTC))
        cancel = await api.post(f"/api/v1/bookings/{cancelled}/cancel")
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["refund_amount"] == 3000
        refund = await api.post(f"/api/v1/bookings/{cancelled}/refund", json={"refund_ref": "r-1"})
        assert refund.status_code == 200, refund.text
        clock.set(local(day, "20:00").astimezone(UTC))
        await create_user(api, "sm@reports.test", "store_manager", store_ids=[a])
        await create_user(api, "staff@reports.test", "staff", store_ids=[a])
        await create_user(api, "fin@reports.test", "finance")
        yield World(api, day, a, c)


async def test_the_day_series_has_occupancy_revenue_and_redemption_per_store_and_in_total(
    cloud: CloudServer, world: World
) -> None:
    response = await world.api.get(
        "/api/v1/reports/series", params={"period": "day", "count": 2, "until": world.day.isoformat()}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [b["label"] for b in body["total"]] == [
        (world.day - timedelta(days=1)).isoformat(),
        world.day.isoformat(),
    ]
    total = body["total"][-1]
    assert (total["open_min"], total["booked_min"], total["revenue"]) == (3 * 1440, 360, 39000)
    assert (total["bookings"], total["due"], total["redeemed"]) == (3, 3, 2)
    assert total["occupancy"] == pytest.approx(360 / 4320)
    assert total["redemption_rate"] == pytest.approx(2 / 3)
    stores = {s["name"]: s["buckets"][-1] for s in body["stores"]}
    assert (stores["Store A"]["revenue"], stores["Store A"]["booked_min"]) == (21000, 180)
    assert (stores["Store A"]["due"], stores["Store A"]["redeemed"]) == (2, 1)
    assert (stores["Store C"]["revenue"], stores["Store C"]["redemption_rate"]) == (18000, 1.0)
    assert body["total"][0]["revenue"] == 0 and body["total"][0]["redemption_rate"] is None


async def test_week_and_month_buckets_hold_the_day(cloud: CloudServer, world: World) -> None:
    for period, label in (
        ("week", f"{world.day.isocalendar()[0]}-W{world.day.isocalendar()[1]:02d}"),
        ("month", f"{world.day:%Y-%m}"),
    ):
        body = (
            await world.api.get(
                "/api/v1/reports/series",
                params={"period": period, "count": 1, "until": world.day.isoformat()},
            )
        ).json()
        [bucket] = body["total"]
        assert (bucket["label"], bucket["revenue"], bucket["booked_min"]) == (label, 39000, 360)


async def test_peak_hours_and_the_store_ranking(cloud: CloudServer, world: World) -> None:
    params = {"period": "day", "count": 1, "until": world.day.isoformat()}
    peak = (await world.api.get("/api/v1/reports/peak-hours", params=params)).json()
    assert peak["minutes"][10:14] == [120, 120, 60, 60]
    assert sum(peak["minutes"]) == 360
    ranking = (await world.api.get("/api/v1/reports/stores", params=params)).json()
    assert [(r["rank"], r["name"], r["figures"]["revenue"]) for r in ranking] == [
        (1, "Store A", 21000),
        (2, "Store C", 18000),
    ]


async def test_reports_are_scoped_to_the_callers_stores(cloud: CloudServer, world: World) -> None:
    params = {"period": "day", "count": 1, "until": world.day.isoformat()}
    async with await session_client(cloud, "sm@reports.test") as manager:
        mine = (await manager.get("/api/v1/reports/series", params=params)).json()
        assert [s["name"] for s in mine["stores"]] == ["Store A"]
        assert mine["total"][0]["revenue"] == 21000
        other = await manager.get("/api/v1/reports/series", params={**params, "store_id": world.store_c})
        assert other.status_code == 404 and other.json()["code"] == "store_not_found"
        ranking = (await manager.get("/api/v1/reports/stores", params=params)).json()
        assert [r["name"] for r in ranking] == ["Store A"]
    async with await session_client(cloud, "fin@reports.test") as finance:
        whole = (await finance.get("/api/v1/reports/series", params=params)).json()
        assert whole["total"][0]["revenue"] == 39000
    async with await session_client(cloud, "staff@reports.test") as staff:
        refused = await staff.get("/api/v1/reports/series", params=params)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    foreign = await new_tenant(cloud, "Foreign Chain")
    async with foreign.api as api:
        assert (
            await api.get("/api/v1/reports/series", params={"store_id": world.store_a})
        ).status_code == 404
        empty = (await api.get("/api/v1/reports/series", params=params)).json()
        assert empty["stores"] == [] and empty["total"][0]["revenue"] == 0


async def test_bad_report_parameters_get_a_reason(cloud: CloudServer, world: World) -> None:
    bad = await world.api.get("/api/v1/reports/series", params={"period": "year"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    too_many = await world.api.get("/api/v1/reports/series", params={"count": 5000})
    assert too_many.status_code == 422
