"""The availability hub over HTTP: problems, settings and their sources, holds to cancellation,
timelines, the cross-store search, film schedules and the holiday calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.cloud.conftest import Tenant, future_day

DAY = future_day(3)
CUSTOMER = {"customer_name": "Zhang Wei", "phone": "13900001111"}
PLAN: dict[str, Any] = {
    "weekday": [
        {"from": "00:00", "to": "18:00", "per_hour": 4000},
        {"from": "18:00", "to": "24:00", "per_hour": 6000},
    ],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 8000}],
}
CHEAP_PLAN: dict[str, Any] = {"weekday": [{"from": "00:00", "to": "24:00", "per_hour": 2000}]}


def slot(start: str, end: str, day: str = DAY) -> dict[str, str]:
    """A slot of the day in Shanghai time."""
    return {"starts_at": f"{day}T{start}:00+08:00", "ends_at": f"{day}T{end}:00+08:00"}


@dataclass
class Shop:
    """A store made through the API with a mahjong room and a KTV room."""

    store_id: str
    mahjong: str
    ktv: str


async def make_shop(
    api: httpx.AsyncClient, name: str, *, city: str = "Shanghai", area: str = "Xuhui", **store: Any
) -> Shop:
    region = (await api.post("/api/v1/regions", json={"name": f"{name} region"})).json()
    created = await api.post(
        "/api/v1/stores", json={"region_id": region["id"], "name": name, "city": city, "area": area, **store}
    )
    assert created.status_code == 201, created.text
    store_id = created.json()["id"]
    rooms = []
    for room_name, kind, plan, capacity in (
        ("Mahjong", "mahjong", PLAN, (2, 4)),
        ("KTV", "ktv", CHEAP_PLAN, (2, 10)),
    ):
        room = await api.post(
            "/api/v1/rooms",
            json={
                "store_id": store_id,
                "name": room_name,
                "kind": kind,
                "capacity_min": capacity[0],
                "capacity_max": capacity[1],
                "facilities": ["air conditioning"],
                "price_plan": plan,
            },
        )
        assert room.status_code == 201, room.text
        rooms.append(room.json()["id"])
    return Shop(store_id, rooms[0], rooms[1])


@pytest.fixture
async def shop(tenant_a: Tenant) -> Shop:
    """Tenant A's store in Shanghai/Xuhui, open 10:00-02:00."""
    hours = {day: ["10:00-02:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return await make_shop(tenant_a.api, "Night Owl", opening_hours=hours)


def assert_problem(response: httpx.Response, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert set(body) >= {"type", "title", "status", "detail", "code", "field"}
    assert (body["status"], body["code"], body["field"]) == (status, code, field)
    assert body["type"].endswith(code) and body["detail"]
    return body


async def test_bad_requests_are_refused_as_problems_and_nothing_is_written(
    tenant_a: Tenant, tenant_b: Tenant, shop: Shop
) -> None:
    api = tenant_a.api
    hold = {"room_id": shop.mahjong, "party_size": 2, **CUSTOMER}
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({**hold, **slot("14:00", "13:00")}, 422, "empty_window", "ends_at"),
        ({**hold, **slot("08:00", "09:00")}, 422, "outside_opening_hours", "starts_at"),
        ({**hold, **slot("01:00", "03:00", future_day(4))}, 422, "outside_opening_hours", "ends_at"),
        ({**hold, **slot("14:00", "15:00", future_day(20))}, 422, "beyond_window", "starts_at"),
        ({**hold, **slot("14:00", "15:10")}, 422, "off_step", "ends_at"),
        ({**hold, **slot("14:00", "14:30")}, 422, "too_short", "ends_at"),
        ({**hold, **slot("14:10", "15:10")}, 422, "off_grid", "starts_at"),
        ({**hold, "party_size": 5, **slot("14:00", "15:00")}, 422, "party_too_large", "party_size"),
        ({**hold, "room_id": "rm-nothere", **slot("14:00", "15:00")}, 404, "room_not_found", "room_id"),
        (
            {**hold, "starts_at": f"{DAY}T14:00:00", "ends_at": f"{DAY}T15:00:00+08:00"},
            422,
            "invalid_request",
            "starts_at",
        ),
    ]
    for body, status, code, field in cases:
        assert_problem(await api.post("/api/v1/holds", json=body), status, code, field)
    other = await tenant_b.api.post("/api/v1/holds", json={**hold, **slot("14:00", "15:00")})
    assert_problem(other, 404, "room_not_found", "room_id")
    # An operator's booking keeps the rules too (but not the start grid).
    operator = {"room_id": shop.mahjong, **CUSTOMER}
    assert_problem(
        await api.post("/api/v1/bookings", json={**operator, **slot("12:00", "13:15")}),
        422,
        "off_step",
        "ends_at",
    )
    assert (
        await api.post("/api/v1/bookings", json={**operator, **slot("14:10", "15:10")})
    ).status_code == 201
    listed = (await api.get("/api/v1/bookings", params={"store_id": shop.store_id})).json()
    assert len(listed) == 1


async def test_settings_resolve_store_over_room_type_over_chain_and_say_where_each_came_from(
    tenant_a: Tenant, tenant_b: Tenant, shop: Shop
) -> None:
    api = tenant_a.api
    chain = await api.put(
        "/api/v1/booking-settings/chain",
        json={"values": {"cleaning_gap_min": 20}, "bounds": {"cleaning_gap_min": {"min": 10, "max": 60}}},
    )
    assert chain.status_code == 200, chain.text
    assert (
        await api.put("/api/v1/booking-settings/room-types/ktv", json={"values": {"cleaning_gap_min": 45}})
    ).status_code == 200
    store = await api.put(
        f"/api/v1/booking-settings/stores/{shop.store_id}", json={"values": {"hold_min": 5}}
    )
    assert store.json()["values"] == {"hold_min": 5}
    found = (await api.get("/api/v1/booking-settings/effective", params={"room_id": shop.ktv})).json()
    settings = found["settings"]
    assert (found["store_id"], found["room_type"]) == (shop.store_id, "ktv")
    assert settings["cleaning_gap_min"] == {
        "value": 45,
        "level": "room_type",
        "unit": "minutes",
        "bound": {"min": 10, "max": 60},
    }
    assert (settings["hold_min"]["value"], settings["hold_min"]["level"]) == (5, "store")
    assert (settings["booking_window_days"]["value"], settings["booking_window_days"]["level"]) == (
        15,
        "default",
    )
    mahjong = (await api.get("/api/v1/booking-settings/effective", params={"room_id": shop.mahjong})).json()
    assert mahjong["settings"]["cleaning_gap_min"]["level"] == "chain"

    outside = await api.put(
        f"/api/v1/booking-settings/stores/{shop.store_id}", json={"values": {"cleaning_gap_min": 5}}
    )
    body = assert_problem(outside, 422, "outside_bounds", "values.cleaning_gap_min")
    assert (body["min"], body["max"]) == (10, 60)
    narrowed = await api.put(
        "/api/v1/booking-settings/chain",
        json={"values": {"cleaning_gap_min": 20}, "bounds": {"cleaning_gap_min": {"min": 10, "max": 30}}},
    )
    body = assert_problem(narrowed, 409, "bounds_exclude_overrides", "bounds")
    assert body["violations"] == [
        {"level": "room_type", "scope": "ktv", "key": "cleaning_gap_min", "value": 45}
    ]
    assert_problem(
        await api.put("/api/v1/booking-settings/room-types/ktv", json={"values": {"early_grace_s": 60}}),
        422,
        "level_not_allowed",
        "values.early_grace_s",
    )
    # The store's early grace is a setting too, and its edge receives it with the store.
    await api.put(f"/api/v1/booking-settings/stores/{shop.store_id}", json={"values": {"early_grace_s": 600}})
    assert (await api.get(f"/api/v1/stores/{shop.store_id}")).json()["early_grace_s"] == 600
    assert (await tenant_b.api.get(f"/api/v1/booking-settings/stores/{shop.store_id}")).status_code == 404
    # The new cleaning gap applies to the next booking of a KTV room.
    booked = await api.post(
        "/api/v1/holds", json={"room_id": shop.ktv, "party_size": 4, **CUSTOMER, **slot("14:00", "15:00")}
    )
    assert booked.json()["occupied_until"] == f"{DAY}T07:45:00Z"


async def test_a_customer_holds_pays_moves_and_cancels_over_http(tenant_a: Tenant, shop: Shop) -> None:
    api = tenant_a.api
    quote = await api.post(
        "/api/v1/quotes", json={"room_id": shop.mahjong, "party_size": 3, **slot("17:00", "19:00")}
    )
    assert quote.status_code == 200, quote.text
    priced = quote.json()
    assert (priced["total"], priced["deposit"], priced["per_hour"]) in {
        (10000, 10000, 5000),
        (16000, 16000, 8000),
    }
    held = await api.post(
        "/api/v1/holds", json={"room_id": shop.mahjong, "party_size": 3, **CUSTOMER, **slot("17:00", "19:00")}
    )
    assert held.status_code == 201, held.text
    booking = held.json()
    assert booking["status"] == "held" and booking["booking_key"] is None
    assert (booking["price_total"], booking["deposit_due"]) == (priced["total"], priced["deposit"])
    assert booking["hold_expires_at"] is not None and booking["quote"]["total"] == priced["total"]
    ref = booking["ref"]
    assert_problem(await api.get(f"/api/v1/bookings/{ref}/code"), 409, "booking_not_active", "ref")

    confirmed = await api.post(f"/api/v1/bookings/{ref}/confirm", json={"payment_ref": "wx-100"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["booking_key"]
    repeat = await api.post(f"/api/v1/bookings/{ref}/confirm", json={"payment_ref": "wx-100"})
    assert repeat.status_code == 200 and repeat.json()["confirmed_at"] == confirmed.json()["confirmed_at"]
    assert_problem(
        await api.post(f"/api/v1/bookings/{ref}/confirm", json={"payment_ref": "wx-200"}),
        409,
        "already_confirmed",
        "payment_ref",
    )
    assert (await api.get(f"/api/v1/bookings/{ref}/code")).status_code == 200

    moved = await api.post(f"/api/v1/bookings/{ref}/reschedule", json=slot("12:00", "13:00"))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["ref"], moved.json()["starts_at"], moved.json()["price_total"]) == (
        ref,
        f"{DAY}T04:00:00Z",
        4000,
    )
    blocker = await api.post(
        "/api/v1/bookings", json={"room_id": shop.mahjong, **CUSTOMER, **slot("20:00", "21:00")}
    )
    taken = await api.post(f"/api/v1/bookings/{ref}/reschedule", json=slot("20:30", "21:30"))
    body = assert_problem(taken, 409, "slot_taken", "starts_at")
    assert body["conflict"]["starts_at"] == blocker.json()["starts_at"].replace("Z", "+00:00")
    assert (await api.get(f"/api/v1/bookings/{ref}")).json()["starts_at"] == f"{DAY}T04:00:00Z"

    preview = (await api.get(f"/api/v1/bookings/{ref}/cancellation")).json()
    assert (preview["refund_pct"], preview["refund_amount"]) == (100, priced["deposit"])
    cancelled = (await api.post(f"/api/v1/bookings/{ref}/cancel")).json()
    assert (cancelled["status"], cancelled["refund_amount"]) == ("cancelled", priced["deposit"])
    refunded = await api.post(f"/api/v1/bookings/{ref}/refund", json={"refund_ref": "rf-1"})
    assert refunded.json()["status"] == "refunded"
    assert_problem(await api.post(f"/api/v1/bookings/{ref}/cancel"), 409, "invalid_transition", "status")
    statuses = {
        b["status"]
        for b in (
            await api.get("/api/v1/bookings", params={"store_id": shop.store_id, "status": "refunded"})
        ).json()
    }
    assert statuses == {"refunded"}


async def test_a_store_day_shows_each_room_s_timeline(tenant_a: Tenant, shop: Shop) -> None:
    api = tenant_a.api
    await api.post("/api/v1/bookings", json={"room_id": shop.mahjong, **CUSTOMER, **slot("12:00", "14:00")})
    await api.post(
        "/api/v1/holds", json={"room_id": shop.mahjong, "party_size": 2, **CUSTOMER, **slot("16:00", "17:00")}
    )
    block = await api.post(
        "/api/v1/blocks",
        json={"room_id": shop.ktv, "kind": "maintenance", "title": "Speaker", **slot("11:00", "13:00")},
    )
    assert block.status_code == 201, block.text
    day = (await api.get(f"/api/v1/stores/{shop.store_id}/availability", params={"date": DAY})).json()
    # Local midnight of DAY in Shanghai (UTC+8) is 16:00 UTC the day before; derived from DAY, not
    # from today, so the test holds when the suite runs across midnight.
    eve = (date.fromisoformat(DAY) - timedelta(days=1)).isoformat()
    assert (day["timezone"], day["starts_at"]) == ("Asia/Shanghai", f"{eve}T16:00:00Z")
    rooms = {r["name"]: r for r in day["rooms"]}
    mahjong = [(s["state"], s["starts_at"][11:16]) for s in rooms["Mahjong"]["segments"]]
    assert mahjong == [
        ("free", "16:00"),  # 00:00-02:00 local: the night from the day before
        ("closed", "18:00"),  # 02:00-10:00 local
        ("free", "02:00"),
        ("booked", "04:00"),
        ("cleaning", "06:00"),
        ("free", "06:30"),
        ("held", "08:00"),
        ("cleaning", "09:00"),
        ("free", "09:30"),
    ]
    ktv = [(s["state"], s["title"]) for s in rooms["KTV"]["segments"] if s["state"] == "maintenance"]
    assert ktv == [("maintenance", "Speaker")]
    assert (await api.delete(f"/api/v1/blocks/{block.json()['id']}")).status_code == 204


async def test_the_search_finds_free_rooms_across_stores_by_place_size_and_price(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    api = tenant_a.api
    xuhui = await make_shop(api, "Xuhui shop", area="Xuhui")
    jingan = await make_shop(api, "Jing'an shop", area="Jing'an")
    await make_shop(api, "Beijing shop", city="Beijing", area="Chaoyang")
    await make_shop(tenant_b.api, "Other chain shop")
    await api.post("/api/v1/bookings", json={"room_id": jingan.ktv, **CUSTOMER, **slot("14:00", "16:00")})
    wanted = {**slot("14:00", "16:00"), "city": "shanghai"}
    offers = (await api.get("/api/v1/availability/search", params=wanted)).json()
    assert [(o["store_id"], o["room_id"]) for o in offers] == [
        (xuhui.store_id, xuhui.ktv),  # cheapest first
        (jingan.store_id, jingan.mahjong),
        (xuhui.store_id, xuhui.mahjong),
    ] or [(o["store_id"], o["room_id"]) for o in offers] == [
        (xuhui.store_id, xuhui.ktv),
        (xuhui.store_id, xuhui.mahjong),
        (jingan.store_id, jingan.mahjong),
    ]
    assert offers[0]["quote"]["total"] == 4000 and offers[0]["quote"]["deposit"] == 4000
    by_size = (await api.get("/api/v1/availability/search", params={**wanted, "party_size": 6})).json()
    assert {o["room_id"] for o in by_size} == {xuhui.ktv}
    by_area = (await api.get("/api/v1/availability/search", params={**wanted, "area": "Jing'an"})).json()
    assert {o["room_id"] for o in by_area} == {jingan.mahjong}
    dear = (
        await api.get("/api/v1/availability/search", params={**wanted, "price_min_per_hour": 3000})
    ).json()
    assert {o["room_id"] for o in dear} == {xuhui.mahjong, jingan.mahjong}
    typed = (await api.get("/api/v1/availability/search", params={**wanted, "room_type": "ktv"})).json()
    assert {o["room_id"] for o in typed} == {xuhui.ktv}
    off_grid = (
        await api.get("/api/v1/availability/search", params={**slot("14:10", "16:10"), "city": "Shanghai"})
    ).json()
    assert off_grid == []


async def test_a_film_schedule_csv_is_imported_with_clashes_reported_and_bad_rows_named(
    tenant_a: Tenant, tenant_b: Tenant, shop: Shop
) -> None:
    api = tenant_a.api
    hall = await api.post(
        "/api/v1/rooms",
        json={"store_id": shop.store_id, "name": "Hall 1", "kind": "cinema", "capacity_max": 40},
    )
    hall_id = hall.json()["id"]
    booked = await api.post(
        "/api/v1/bookings", json={"room_id": hall_id, **CUSTOMER, **slot("15:00", "16:00")}
    )
    csv = (
        "hall,start,end,title\n"
        f"Hall 1,{DAY} 12:00,{DAY} 14:00,Film A\n"
        f"Hall 1,{DAY} 15:30,{DAY} 17:30,Film B\n"
    )
    headers = {"content-type": "text/csv"}
    path = f"/api/v1/stores/{shop.store_id}/film-schedule"
    dry = (await api.post(path, content=csv.encode(), headers=headers, params={"dry_run": "true"})).json()
    assert (dry["dry_run"], dry["created"]) == (True, 2)
    first = await api.post(path, content=csv.encode(), headers=headers)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["rows"], report["created"], report["unchanged"]) == (2, 2, 0)
    assert [(c["row"], c["with"]["ref"], c["with"]["kind"]) for c in report["clashes"]] == [
        (3, booked.json()["ref"], "booking")
    ]
    again = (await api.post(path, content=csv.encode(), headers=headers)).json()
    assert (again["created"], again["updated"], again["unchanged"], again["removed"]) == (0, 0, 2, 0)
    taken = await api.post(
        "/api/v1/bookings", json={"room_id": hall_id, **CUSTOMER, **slot("12:30", "13:30")}
    )
    assert assert_problem(taken, 409, "slot_taken", "starts_at")["conflict"]["kind"] == "block"
    listed = (
        await api.get(f"/api/v1/stores/{shop.store_id}/blocks", params={"starts_at": f"{DAY}T00:00:00+08:00"})
    ).json()
    assert [b["title"] for b in listed] == ["Film A", "Film B"]

    bad = (
        "hall,start,end,title\n"
        f"Hall 1,{DAY} 18:00,{DAY} 17:00,Backwards\n"
        f"Hall 9,{DAY} 18:00,{DAY} 19:00,Nowhere\n"
    )
    body = assert_problem(
        await api.post(path, content=bad.encode(), headers=headers), 422, "invalid_schedule", "file"
    )
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "end"), (3, "hall")]
    assert (await tenant_b.api.post(path, content=csv.encode(), headers=headers)).status_code == 404


async def test_rooms_carry_capacity_facilities_and_a_checked_price_plan(tenant_a: Tenant, shop: Shop) -> None:
    api = tenant_a.api
    bad = await api.post(
        "/api/v1/rooms",
        json={
            "store_id": shop.store_id,
            "name": "Tea",
            "kind": "tea",
            "price_plan": {"weekday": [{"from": "00:00", "to": "20:00", "per_hour": 1}]},
        },
    )
    assert_problem(bad, 422, "price_plan_gap", "price_plan.weekday")
    assert_problem(
        await api.post(
            "/api/v1/rooms",
            json={
                "store_id": shop.store_id,
                "name": "Tea",
                "kind": "tea",
                "capacity_min": 5,
                "capacity_max": 2,
            },
        ),
        422,
        "invalid_capacity",
        "capacity_max",
    )
    changed = await api.patch(
        f"/api/v1/rooms/{shop.mahjong}",
        json={"room_type": "mahjong-deluxe", "capacity_max": 6, "price_plan": None},
    )
    assert changed.status_code == 200, changed.text
    room = changed.json()
    assert (room["room_type"], room["capacity_min"], room["capacity_max"], room["price_plan"]) == (
        "mahjong-deluxe",
        2,
        6,
        None,
    )
    assert room["facilities"] == ["air conditioning"]
    free = await api.post("/api/v1/quotes", json={"room_id": shop.mahjong, **slot("14:00", "15:00")})
    assert free.json()["total"] == 0, "a room without a price plan is free"
    hours = await api.patch(
        f"/api/v1/stores/{shop.store_id}", json={"opening_hours": {"mon": ["25:00-26:00"]}}
    )
    assert_problem(hours, 422, "invalid_time_of_day", "opening_hours.mon[0]")


async def test_the_holiday_calendar_prices_a_weekday_as_a_holiday(tenant_a: Tenant, shop: Shop) -> None:
    api = tenant_a.api
    before = (
        await api.post("/api/v1/quotes", json={"room_id": shop.mahjong, **slot("12:00", "13:00")})
    ).json()
    put = await api.put(
        "/api/v1/calendar", json={"days": [{"day": DAY, "kind": "holiday", "name": "Festival"}]}
    )
    assert put.status_code == 200 and put.json()["days"][0]["name"] == "Festival"
    after = (
        await api.post("/api/v1/quotes", json={"room_id": shop.mahjong, **slot("12:00", "13:00")})
    ).json()
    assert after["total"] == 8000 and after["lines"][0]["day_type"] == "holiday"
    assert before["total"] in {4000, 8000}  # a weekend day is a holiday anyway
    assert_problem(
        await api.put(
            "/api/v1/calendar",
            json={"days": [{"day": DAY, "kind": "holiday"}, {"day": DAY, "kind": "workday"}]},
        ),
        422,
        "invalid_calendar",
        "days[1].day",
    )


async def test_bad_reschedules_and_orders_are_refused_as_problems_naming_the_field(
    tenant_a: Tenant, tenant_b: Tenant, shop: Shop
) -> None:
    api = tenant_a.api
    held = await api.post(
        "/api/v1/holds", json={"room_id": shop.mahjong, "party_size": 2, **CUSTOMER, **slot("14:00", "15:00")}
    )
    assert held.status_code == 201, held.text
    ref = held.json()["ref"]
    other_shop = await make_shop(tenant_b.api, "Elsewhere")
    moves: list[tuple[dict[str, Any], int, str, str | None]] = [
        (slot("16:00", "15:00"), 422, "empty_window", "ends_at"),
        (slot("08:00", "09:00"), 422, "outside_opening_hours", "starts_at"),
        (slot("14:00", "15:00", future_day(20)), 422, "beyond_window", "starts_at"),
        (slot("16:00", "17:10"), 422, "off_step", "ends_at"),
        ({**slot("16:00", "17:00"), "room_id": "rm-nothere"}, 404, "room_not_found", "room_id"),
        ({**slot("16:00", "17:00"), "room_id": other_shop.mahjong}, 404, "room_not_found", "room_id"),
    ]
    for body, status, code, field in moves:
        assert_problem(await api.post(f"/api/v1/bookings/{ref}/reschedule", json=body), status, code, field)
    unchanged = (await api.get(f"/api/v1/bookings/{ref}")).json()
    assert unchanged["starts_at"].startswith(f"{DAY}T06:00") and unchanged["status"] == "held"
    customer = {"name": "Zhang Wei", "phone": "13900001111"}
    orders: list[tuple[dict[str, Any], int, str, str | None]] = [
        (
            {"room_id": shop.ktv, "party_size": 2, **slot("16:00", "15:00")},
            422,
            "empty_window",
            "items.0.ends_at",
        ),
        (
            {"room_id": shop.ktv, "party_size": 11, **slot("16:00", "17:00")},
            422,
            "party_too_large",
            "items.0.party_size",
        ),
        (
            {"room_id": other_shop.ktv, "party_size": 2, **slot("16:00", "17:00")},
            404,
            "room_not_found",
            "items.0.room_id",
        ),
        (
            {"room_id": shop.ktv, "party_size": 2, **slot("03:00", "04:00")},
            422,
            "outside_opening_hours",
            "items.0.starts_at",
        ),
    ]
    for item, status, code, field in orders:
        response = await api.post("/api/v1/orders", json={"items": [item], "customer": customer})
        assert_problem(response, status, code, field)
    listed = (await api.get("/api/v1/bookings", params={"store_id": shop.store_id})).json()
    assert [b["ref"] for b in listed] == [ref], "nothing else was written"
