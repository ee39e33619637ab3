"""The HQ admin web app over HTTP: sign-in by form, scoped pages and CSV, room forms, anti-forgery."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cloud.bootstrap import CloudServer
from tests.integration.cloud.auth_support import PASSWORD, create_user, fake_clock_cloud
from tests.integration.cloud.conftest import StoreIds, future_day, make_store, new_tenant

CUSTOMER = {"customer_name": "Zhou Min", "phone": "13700002468"}
PAGES = (
    "/admin/",
    "/admin/stores",
    "/admin/rooms",
    "/admin/devices",
    "/admin/settings",
    "/admin/timeline",
    "/admin/reports",
    "/admin/reports?period=week",
    "/admin/reports?period=month",
    "/admin/health",
    "/admin/faults",
    "/admin/audit",
    "/admin/fragments/tiles",
    "/admin/fragments/health",
)


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud with cheap password hashing (several sign-ins)."""
    async with fake_clock_cloud(db_url, tmp_path / "cloud", cheap=True) as server:
        yield server


@dataclass
class Chain:
    """Store A (region 1) and store C (region 2) of one tenant, each with a booking and a device."""

    api: httpx.AsyncClient
    a: StoreIds
    c: StoreIds
    booking_a: str
    booking_c: str


@pytest.fixture
async def chain(cloud: CloudServer) -> AsyncIterator[Chain]:
    tenant = await new_tenant(cloud, "Admin Chain")
    async with tenant.api as api:
        a = await make_store(api, "Store A")
        c = await make_store(api, "Store C")
        refs = []
        day = future_day(2)
        for store in (a, c):
            made = await api.post(
                "/api/v1/bookings",
                json={
                    "room_id": store.room_id,
                    "starts_at": f"{day}T10:00:00+08:00",
                    "ends_at": f"{day}T12:00:00+08:00",
                    **CUSTOMER,
                },
            )
            assert made.status_code == 201, made.text
            refs.append(made.json()["ref"])
            device = await api.post(
                "/api/v1/devices",
                json={
                    "room_id": store.room_id,
                    "kind": "lock",
                    "protocol": "mqtt",
                    "id": f"lock-{store.store_id}",
                },
            )
            assert device.status_code == 201, device.text
        await create_user(api, "hq@admin.test", "hq_admin")
        await create_user(api, "sm@admin.test", "store_manager", store_ids=[a.store_id])
        await create_user(api, "fin@admin.test", "finance")
        await create_user(api, "staff@admin.test", "staff", store_ids=[a.store_id])
        yield Chain(api, a, c, refs[0], refs[1])


@asynccontextmanager
async def sign_in(cloud: CloudServer, login: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client (it keeps cookies) signed in through the admin login form."""
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as client:
        response = await client.post(
            "/admin/login", data={"login": login, "password": PASSWORD, "next": "/admin/rooms"}
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/admin/rooms"
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert match, "the page carries no anti-forgery token"
    return match.group(1)


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


async def test_an_hq_admin_signs_in_by_form_and_every_page_renders(cloud: CloudServer, chain: Chain) -> None:
    async with sign_in(cloud, "hq@admin.test") as web:
        for path in PAGES:
            page = await web.get(path)
            assert page.status_code == 200, f"{path}: {page.status_code} {page.text[:500]}"
        home = (await web.get("/admin/")).text
        assert "Store A" in home and "Store C" in home
        assert 'hx-trigger="every 5s"' in home and "<svg" in home
        rooms = (await web.get(f"/admin/rooms?store_id={chain.c.store_id}")).text
        assert "Mahjong 1" in rooms
        booking = await web.get(f"/admin/bookings/{chain.booking_c}")
        assert booking.status_code == 200 and chain.booking_c in booking.text


async def test_pages_without_a_session_send_the_browser_to_the_login_form(cloud: CloudServer) -> None:
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as anonymous:
        response = await anonymous.get("/admin/devices")
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login?next=/admin/devices"


async def test_a_store_manager_sees_only_their_store_in_pages_and_csv(
    cloud: CloudServer, chain: Chain
) -> None:
    a, c = chain.a, chain.c
    async with sign_in(cloud, "sm@admin.test") as web:
        stores = csv_rows(await web.get("/admin/stores?csv=stores"))
        assert [row[1] for row in stores[1:]] == [a.store_id]
        assert c.store_id not in (await web.get("/admin/")).text
        for path in (
            f"/admin/rooms?store_id={c.store_id}",
            f"/admin/rooms/{c.room_id}",
            f"/admin/devices?store_id={c.store_id}",
            f"/admin/timeline?store_id={c.store_id}",
            f"/admin/bookings/{chain.booking_c}",
            f"/admin/stores/{c.store_id}",
            f"/admin/settings?store_id={c.store_id}",
            f"/admin/rooms?store_id={c.store_id}&csv=rooms",
            f"/admin/devices?store_id={c.store_id}&csv=devices",
            f"/admin/reports?store_id={c.store_id}&csv=series",
        ):
            refused = await web.get(path)
            assert refused.status_code == 404, f"{path}: {refused.status_code}"
            assert "Mahjong 1" not in refused.text
        health = csv_rows(await web.get("/admin/health?csv=health"))
        assert [row[2] for row in health[1:]] == [f"lock-{a.store_id}"]
        ranking = csv_rows(await web.get("/admin/reports?csv=ranking"))
        assert [row[1] for row in ranking[1:]] == ["Store A"]
        grid = csv_rows(await web.get(f"/admin/timeline?store_id={a.store_id}&csv=grid"))
        assert [row[0] for row in grid[1:]] == ["KTV 1", "Mahjong 1"]
        assert (await web.get(f"/admin/bookings/{chain.booking_a}")).status_code == 200
        # the audit log is the whole tenant's: not for a store manager
        assert (await web.get("/admin/audit")).status_code == 403


async def test_finance_sees_reports_and_the_audit_log_but_not_devices(
    cloud: CloudServer, chain: Chain
) -> None:
    async with sign_in(cloud, "fin@admin.test") as web:
        assert (await web.get("/admin/reports")).status_code == 200
        assert (await web.get("/admin/audit")).status_code == 200
        refused = await web.get("/admin/devices")
        assert refused.status_code == 403 and "forbidden" in refused.text
        assert (await web.get("/admin/health")).status_code == 403
        home = (await web.get("/admin/")).text
        assert 'href="/admin/devices"' not in home


async def test_staff_cannot_sign_in_to_the_admin_app(cloud: CloudServer, chain: Chain) -> None:
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as client:
        response = await client.post("/admin/login", data={"login": "staff@admin.test", "password": PASSWORD})
        assert response.status_code == 403
        assert "gh_session" not in response.cookies


async def test_csv_export_has_the_table_rows_and_defuses_formulas(cloud: CloudServer, chain: Chain) -> None:
    made = await chain.api.post(
        "/api/v1/rooms", json={"store_id": chain.a.store_id, "name": '=HYPERLINK("x")', "kind": "tea"}
    )
    assert made.status_code == 201, made.text
    async with sign_in(cloud, "hq@admin.test") as web:
        page = (await web.get(f"/admin/rooms?store_id={chain.a.store_id}")).text
        assert f"/admin/rooms?store_id={chain.a.store_id}&amp;csv=rooms" in page
        response = await web.get(f"/admin/rooms?store_id={chain.a.store_id}&csv=rooms")
        assert "attachment" in response.headers["content-disposition"]
        rows = csv_rows(response)
        assert rows[0] == ["room", "id", "kind", "type", "capacity", "facilities", "price plan"]
        assert sorted(row[0] for row in rows[1:]) == ['\'=HYPERLINK("x")', "KTV 1", "Mahjong 1"]
        audit = csv_rows(await web.get("/admin/audit?entity=room&csv=audit"))
        assert any(row[3] == "room.create" for row in audit[1:])
        missing = await web.get("/admin/rooms?csv=nothing")
        assert missing.status_code == 400 and "no_such_table" in missing.text


async def test_a_room_created_by_form_is_stored_audited_and_listed(cloud: CloudServer, chain: Chain) -> None:
    async with sign_in(cloud, "hq@admin.test") as web:
        page = await web.get(f"/admin/rooms?store_id={chain.a.store_id}")
        token = csrf_of(page.text)
        created = await web.post(
            "/admin/rooms",
            data={
                "csrf_token": token,
                "store_id": chain.a.store_id,
                "name": "Cinema Hall",
                "kind": "cinema",
                "capacity_min": "2",
                "capacity_max": "12",
                "facilities": "projector, sound system",
                "price_plan": '{"weekday": [{"from": "00:00", "to": "24:00", "per_hour": 9900}],'
                ' "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 12900}]}',
            },
        )
        assert created.status_code == 303, created.text
        rooms = (await chain.api.get("/api/v1/rooms", params={"store_id": chain.a.store_id})).json()
        hall = next(r for r in rooms if r["name"] == "Cinema Hall")
        assert (hall["capacity_max"], hall["facilities"]) == (12, ["projector", "sound system"])
        assert hall["price_plan"]["weekday"][0]["per_hour"] == 9900
        listed = await web.get(created.headers["location"])
        assert "Cinema Hall" in listed.text
        audit = (await chain.api.get("/api/v1/audit", params={"entity_id": hall["id"]})).json()["items"]
        assert [(e["action"], e["actor"]) for e in audit] == [("room.create", "user:hq@admin.test")]
        # change it, then delete it (it never had a booking)
        changed = await web.post(
            f"/admin/rooms/{hall['id']}",
            data={
                "csrf_token": token,
                "name": "Cinema Hall 1",
                "capacity_min": "1",
                "capacity_max": "",
                "price_plan": "",
            },
        )
        assert changed.status_code == 303, changed.text
        room = (await chain.api.get(f"/api/v1/rooms/{hall['id']}")).json()
        assert (room["name"], room["capacity_max"], room["price_plan"]) == ("Cinema Hall 1", None, None)
        deleted = await web.post(f"/admin/rooms/{hall['id']}/delete", data={"csrf_token": token})
        assert deleted.status_code == 303
        assert (await chain.api.get(f"/api/v1/rooms/{hall['id']}")).status_code == 404


async def test_a_refused_form_shows_the_error_by_its_field_and_keeps_the_values(
    cloud: CloudServer, chain: Chain
) -> None:
    async with sign_in(cloud, "hq@admin.test") as web:
        token = csrf_of((await web.get("/admin/rooms")).text)
        base = {"csrf_token": token, "store_id": chain.a.store_id, "name": "Tea 9", "kind": "tea"}
        bad_json = await web.post("/admin/rooms", data={**base, "price_plan": "{not json"})
        assert bad_json.status_code == 422
        assert 'data-field="price_plan"' in bad_json.text and "invalid_json" in bad_json.text
        assert "{not json" in bad_json.text and 'value="Tea 9"' in bad_json.text
        bad_band = await web.post(
            "/admin/rooms",
            data={**base, "price_plan": '{"weekday": [{"from": "00:00", "to": "24:00", "per_hour": -5}]}'},
        )
        assert bad_band.status_code == 422
        assert 'data-field="price_plan"' in bad_band.text
        taken = await web.post("/admin/rooms", data={**base, "name": "Mahjong 1"})
        assert taken.status_code == 409
        assert 'data-field="name"' in taken.text and "room_exists" in taken.text
        rooms = (await chain.api.get("/api/v1/rooms", params={"store_id": chain.a.store_id})).json()
        assert sorted(r["name"] for r in rooms) == ["KTV 1", "Mahjong 1"]


async def test_a_write_without_the_anti_forgery_token_is_refused(cloud: CloudServer, chain: Chain) -> None:
    async with sign_in(cloud, "hq@admin.test") as web:
        refused = await web.post(
            "/admin/rooms", data={"store_id": chain.a.store_id, "name": "Forged", "kind": "tea"}
        )
        assert refused.status_code == 403 and "csrf_failed" in refused.text
        wrong = await web.post(
            "/admin/rooms",
            data={"csrf_token": "0" * 40, "store_id": chain.a.store_id, "name": "Forged", "kind": "tea"},
        )
        assert wrong.status_code == 403
    rooms = (await chain.api.get("/api/v1/rooms", params={"store_id": chain.a.store_id})).json()
    assert "Forged" not in [r["name"] for r in rooms]


async def test_a_store_manager_cannot_create_a_room_in_another_store(
    cloud: CloudServer, chain: Chain
) -> None:
    async with sign_in(cloud, "sm@admin.test") as web:
        token = csrf_of((await web.get("/admin/rooms")).text)
        refused = await web.post(
            "/admin/rooms",
            data={"csrf_token": token, "store_id": chain.c.store_id, "name": "Sneaky", "kind": "tea"},
        )
        assert refused.status_code == 404
    rooms = (await chain.api.get("/api/v1/rooms", params={"store_id": chain.c.store_id})).json()
    assert "Sneaky" not in [r["name"] for r in rooms]


async def test_a_device_is_changed_in_place_by_form_and_stays_in_its_store(
    cloud: CloudServer, chain: Chain
) -> None:
    device_id = f"lock-{chain.a.store_id}"
    async with sign_in(cloud, "sm@admin.test") as web:
        page = await web.get(f"/admin/devices/{device_id}")
        assert page.status_code == 200 and "Mahjong 1" in page.text
        token = csrf_of(page.text)
        changed = await web.post(
            f"/admin/devices/{device_id}",
            data={
                "csrf_token": token,
                "room_id": chain.a.other_room_id,
                "kind": "lock",
                "protocol": "mqtt",
                "config": "heartbeat_s=30",
            },
        )
        assert changed.status_code == 303, changed.text
        bad = await web.post(
            f"/admin/devices/{device_id}",
            data={
                "csrf_token": token,
                "room_id": "",
                "kind": "power",
                "protocol": "modbus",
                "config": "port=99999",
            },
        )
        assert bad.status_code == 422 and 'data-field="config"' in bad.text and "port=99999" in bad.text
        assert (await web.get(f"/admin/devices/lock-{chain.c.store_id}")).status_code == 404
    devices = (await chain.api.get("/api/v1/devices", params={"store_id": chain.a.store_id})).json()
    [lock] = [d for d in devices if d["id"] == device_id]
    assert (lock["room_id"], lock["config"]) == (chain.a.other_room_id, {"heartbeat_s": "30"})
    audit = (await chain.api.get("/api/v1/audit", params={"entity_id": device_id})).json()["items"]
    assert [e["action"] for e in audit][:1] == ["device.update"]
    assert audit[0]["actor"] == "user:sm@admin.test"
