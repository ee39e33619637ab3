"""The HTTP API over a real uvicorn: tenancy scoping, devices, bookings, problems, audit."""

from __future__ import annotations

import base64

from sqlalchemy import select

from cloud.audit.tables import AuditEntry
from cloud.booking.tables import Booking
from cloud.bootstrap import CloudServer
from cloud.storekeys import keyring
from protos import codes
from tests.integration.cloud.conftest import StoreIds, Tenant, future_day

DAY, NEXT_DAY = future_day(3), future_day(4)
SLOT = {"starts_at": f"{DAY}T10:00:00+08:00", "ends_at": f"{DAY}T12:00:00+08:00"}
CUSTOMER = {"customer_name": "Li Lei", "phone": "+86 138-0013-1234"}


async def test_requests_without_a_valid_bearer_token_get_a_401_problem(
    cloud: CloudServer, tenant_a: Tenant
) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = await tenant_a.api.get("/api/v1/stores", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "unauthenticated" and body["status"] == 401
        assert set(body) >= {"type", "title", "status", "detail", "code", "field"}


async def test_tenancy_is_created_and_listed_and_other_tenants_get_404(
    tenant_a: Tenant, tenant_b: Tenant, store_a: StoreIds
) -> None:
    stores = (await tenant_a.api.get("/api/v1/stores")).json()
    assert [s["id"] for s in stores] == [store_a.store_id]
    rooms = (await tenant_a.api.get("/api/v1/rooms", params={"store_id": store_a.store_id})).json()
    assert {r["name"] for r in rooms} == {"Mahjong 1", "KTV 1"}

    assert (await tenant_b.api.get("/api/v1/stores")).json() == []
    for path in (f"/api/v1/stores/{store_a.store_id}", f"/api/v1/rooms/{store_a.room_id}"):
        response = await tenant_b.api.get(path)
        assert response.status_code == 404, path
    response = await tenant_b.api.get("/api/v1/rooms", params={"store_id": store_a.store_id})
    assert response.json()["code"] == "store_not_found"
    response = await tenant_b.api.post(
        "/api/v1/rooms", json={"store_id": store_a.store_id, "name": "X", "kind": "ktv"}
    )
    assert response.status_code == 404
    response = await tenant_b.api.post(
        "/api/v1/stores", json={"region_id": store_a.region_id, "name": "Mine"}
    )
    assert response.status_code == 404 and response.json()["field"] == "region_id"
    response = await tenant_b.api.post(
        "/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER}
    )
    assert response.status_code == 404 and response.json()["code"] == "room_not_found"
    response = await tenant_b.api.post(f"/api/v1/stores/{store_a.store_id}/edges")
    assert response.status_code == 404
    response = await tenant_b.api.get("/api/v1/bookings", params={"store_id": store_a.store_id})
    assert response.status_code == 404


async def test_store_ids_fit_in_redemption_codes_and_duplicates_are_409(
    tenant_a: Tenant, store_a: StoreIds
) -> None:
    assert codes.valid_id(store_a.store_id) and store_a.store_id.startswith("s-")
    assert codes.valid_id(store_a.room_id)
    response = await tenant_a.api.post(
        "/api/v1/stores", json={"region_id": store_a.region_id, "name": "Store One"}
    )
    assert response.status_code == 409 and response.json()["code"] == "store_exists"
    response = await tenant_a.api.post(
        "/api/v1/stores", json={"region_id": store_a.region_id, "name": "Z", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 422 and response.json()["field"] == "timezone"


async def test_devices_are_registered_per_room_or_store_wide_and_checked(
    tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    lock = await api.post(
        "/api/v1/devices",
        json={"id": "lock-m1", "room_id": store_a.room_id, "kind": "lock", "protocol": "mqtt"},
    )
    assert lock.status_code == 201, lock.text
    assert lock.json()["store_id"] == store_a.store_id
    scanner = await api.post(
        "/api/v1/devices",
        json={
            "store_id": store_a.store_id,
            "kind": "scanner",
            "protocol": "tcp",
            "config": {"host": "127.0.0.1", "port": "9000"},
        },
    )
    assert scanner.status_code == 201 and scanner.json()["room_id"] is None
    missing = await api.post(
        "/api/v1/devices",
        json={"room_id": store_a.room_id, "kind": "power", "protocol": "modbus", "config": {}},
    )
    assert missing.status_code == 422 and missing.json()["code"] == "missing_config"
    again = await api.post(
        "/api/v1/devices",
        json={"id": "lock-m1", "room_id": store_a.room_id, "kind": "lock", "protocol": "mqtt"},
    )
    assert again.status_code == 409
    listed = (await api.get("/api/v1/devices", params={"store_id": store_a.store_id})).json()
    assert {d["id"] for d in listed} == {"lock-m1", scanner.json()["id"]}
    assert (await api.delete("/api/v1/devices/lock-m1")).status_code == 204
    in_room = (await api.get("/api/v1/devices", params={"room_id": store_a.room_id})).json()
    assert in_room == []


async def test_a_booking_is_confirmed_with_ref_order_no_and_a_working_booking_key(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    response = await tenant_a.api.post(
        "/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER}
    )
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "confirmed" and booking["key_version"] == 1
    assert booking["ref"].startswith("B") and len(booking["ref"]) == 11 and codes.valid_id(booking["ref"])
    assert booking["order_no"].isdigit() and booking["phone_last4"] == "1234"
    assert booking["starts_at"] == f"{DAY}T02:00:00Z"

    async with cloud.sessionmaker() as session:
        store_key = await keyring.load_key(session, cloud.cipher, store_a.store_id, 1)
        row = await session.get(Booking, booking["ref"])
        assert row is not None and b"1234" not in row.phone_encrypted
    assert base64.b64decode(booking["booking_key"]) == codes.booking_key(store_key, booking["ref"])

    fetched = (await tenant_a.api.get(f"/api/v1/bookings/{booking['ref']}")).json()
    assert fetched["booking_key"] == booking["booking_key"]
    drawn = (await tenant_a.api.get(f"/api/v1/bookings/{booking['ref']}/code")).json()
    now = cloud.clock.now().timestamp()
    claim = codes.verify_code(drawn["code"], store_a.store_id, {1: store_key}, now)
    assert (claim.booking_ref, claim.room_id) == (booking["ref"], store_a.room_id)
    assert 0 < drawn["valid_for_s"] <= 180


async def test_overlapping_bookings_are_refused_with_slot_taken_naming_the_range_and_its_cleaning(
    tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    first = await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})
    assert first.status_code == 201
    assert first.json()["occupied_until"] == f"{DAY}T04:30:00Z", "the default cleaning gap is 30 minutes"
    overlap = {"starts_at": f"{DAY}T11:30:00+08:00", "ends_at": f"{DAY}T13:00:00+08:00"}
    response = await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **overlap, **CUSTOMER})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "slot_taken"
    assert problem["conflict"] == {
        "starts_at": f"{DAY}T02:00:00+00:00",
        "ends_at": f"{DAY}T04:00:00+00:00",
        "occupied_until": f"{DAY}T04:30:00+00:00",
        "kind": "booking",
    }
    assert f"{DAY}T02:00:00" in problem["detail"]
    during_cleaning = {"starts_at": f"{DAY}T12:00:00+08:00", "ends_at": f"{DAY}T13:00:00+08:00"}
    response = await api.post(
        "/api/v1/bookings", json={"room_id": store_a.room_id, **during_cleaning, **CUSTOMER}
    )
    assert response.status_code == 409 and response.json()["code"] == "slot_taken"
    after_cleaning = {"starts_at": f"{DAY}T12:30:00+08:00", "ends_at": f"{DAY}T13:30:00+08:00"}
    assert (
        await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **after_cleaning, **CUSTOMER})
    ).status_code == 201
    other_room = await api.post(
        "/api/v1/bookings", json={"room_id": store_a.other_room_id, **overlap, **CUSTOMER}
    )
    assert other_room.status_code == 201


async def test_bad_booking_windows_are_refused_with_their_field(tenant_a: Tenant, store_a: StoreIds) -> None:
    cases = [
        ({"starts_at": f"{DAY}T12:00:00+08:00", "ends_at": f"{DAY}T12:00:00+08:00"}, "empty_window"),
        (
            {"starts_at": f"{DAY}T12:00:30+08:00", "ends_at": f"{DAY}T13:00:00+08:00"},
            "not_whole_minute",
        ),
        ({"starts_at": f"{DAY}T12:00:00", "ends_at": f"{DAY}T13:00:00+08:00"}, "invalid_request"),
    ]
    for window, code in cases:
        response = await tenant_a.api.post(
            "/api/v1/bookings", json={"room_id": store_a.room_id, **window, **CUSTOMER}
        )
        assert response.status_code == 422, window
        assert response.json()["code"] == code
        assert response.json()["field"] == "starts_at" if code != "empty_window" else "ends_at"
    response = await tenant_a.api.post("/api/v1/bookings", json={"room_id": "rm-nothere", **SLOT, **CUSTOMER})
    assert response.status_code == 404


async def test_a_cancelled_booking_frees_its_slot_and_cannot_be_cancelled_twice(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    ref = (await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})).json()[
        "ref"
    ]
    cancelled = await api.post(f"/api/v1/bookings/{ref}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await api.post(f"/api/v1/bookings/{ref}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert (await api.get(f"/api/v1/bookings/{ref}/code")).json()["code"] == "booking_not_active"
    rebooked = await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})
    assert rebooked.status_code == 201

    async with cloud.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == ref)))
    assert actions == ["booking.create", "booking.cancelled"]


async def test_every_state_change_leaves_an_audit_row(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    await tenant_a.api.patch(f"/api/v1/stores/{store_a.store_id}", json={"early_grace_s": 600})
    async with cloud.sessionmaker() as session:
        rows = list(await session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant_a.id)))
    actions = [r.action for r in rows]
    assert actions.count("room.create") == 2
    assert {"tenant.create", "region.create", "store.create", "store.update"} <= set(actions)
    update = next(r for r in rows if r.action == "store.update")
    assert update.before is not None and update.after is not None
    assert (update.before["early_grace_s"], update.after["early_grace_s"]) == (900, 600)
    assert update.actor == "token:initial"


async def test_store_key_rotation_keeps_old_versions_and_new_bookings_use_the_newest(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    old = (await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})).json()
    rotated = await api.post(f"/api/v1/stores/{store_a.store_id}/keys/rotate")
    assert rotated.json()["key_versions"] == [1, 2]
    slot = {"starts_at": f"{NEXT_DAY}T10:00:00+08:00", "ends_at": f"{NEXT_DAY}T11:00:00+08:00"}
    new = (await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **slot, **CUSTOMER})).json()
    assert (old["key_version"], new["key_version"]) == (1, 2)
    async with cloud.sessionmaker() as session:
        keys = await keyring.load_keys(session, cloud.cipher, store_a.store_id)
    assert set(keys) == {1, 2} and keys[1] != keys[2]
    code = (await api.get(f"/api/v1/bookings/{old['ref']}/code")).json()["code"]
    assert codes.verify_code(code, store_a.store_id, keys, cloud.clock.now().timestamp()).key_version == 1


async def test_health_and_metrics_are_served(cloud: CloudServer, tenant_a: Tenant) -> None:
    health = await tenant_a.api.get("/healthz")
    assert health.json() == {"status": "ok"}
    metrics = await tenant_a.api.get("/metrics")
    assert "gatehouse_edges_connected" in metrics.text
    assert "gatehouse_edge_events_duplicate_total" in metrics.text
