"""The authorization matrix: each kind of caller reads and changes only what its role and scope allow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud.bootstrap import CloudServer
from cloud.faults.tables import WorkOrder
from cloud.ids import new_id
from tests.integration.cloud.auth_support import create_user, fake_clock_cloud, session_client
from tests.integration.cloud.conftest import StoreIds, future_day, make_store, new_tenant

DAY = future_day(3)
SLOT = {"starts_at": f"{DAY}T10:00:00+08:00", "ends_at": f"{DAY}T12:00:00+08:00"}
CUSTOMER = {"customer_name": "Li Lei", "phone": "+86 138-0013-1234"}


@dataclass
class World:
    """Region 1 holds stores A and B, region 2 holds store C; a booking and a work order in each store."""

    a: StoreIds
    b: StoreIds
    c: StoreIds
    booking: dict[str, str]  # store letter -> booking ref
    order: dict[str, str]  # store letter -> work order id

    def store(self, letter: str) -> StoreIds:
        """The store called letter."""
        return {"A": self.a, "B": self.b, "C": self.c}[letter]


@dataclass(frozen=True)
class Case:
    """One request against one store's data."""

    name: str
    method: str
    path: Callable[[World, str], str]
    body: Callable[[World, str], dict[str, Any] | None] = lambda w, s: None
    params: Callable[[World, str], dict[str, str] | None] = lambda w, s: None


CASES = (
    Case("read store", "GET", lambda w, s: f"/api/v1/stores/{w.store(s).store_id}"),
    Case(
        "list rooms",
        "GET",
        lambda w, s: "/api/v1/rooms",
        params=lambda w, s: {"store_id": w.store(s).store_id},
    ),
    Case(
        "rename room",
        "PATCH",
        lambda w, s: f"/api/v1/rooms/{w.store(s).room_id}",
        body=lambda w, s: {"name": f"Renamed {s}"},
    ),
    Case(
        "list devices",
        "GET",
        lambda w, s: "/api/v1/devices",
        params=lambda w, s: {"store_id": w.store(s).store_id},
    ),
    Case(
        "add device",
        "POST",
        lambda w, s: "/api/v1/devices",
        body=lambda w, s: {"store_id": w.store(s).store_id, "kind": "scanner", "protocol": "mqtt"},
    ),
    Case(
        "list bookings",
        "GET",
        lambda w, s: "/api/v1/bookings",
        params=lambda w, s: {"store_id": w.store(s).store_id},
    ),
    Case("read booking", "GET", lambda w, s: f"/api/v1/bookings/{w.booking[s]}"),
    Case(
        "book a room",
        "POST",
        lambda w, s: "/api/v1/bookings",
        body=lambda w, s: {
            "room_id": w.store(s).other_room_id,
            "starts_at": f"{DAY}T14:00:00+08:00",
            "ends_at": f"{DAY}T15:00:00+08:00",
            **CUSTOMER,
        },
    ),
    Case("cancel booking", "POST", lambda w, s: f"/api/v1/bookings/{w.booking[s]}/cancel"),
    Case("list edges", "GET", lambda w, s: f"/api/v1/stores/{w.store(s).store_id}/edges"),
    Case("read work order", "GET", lambda w, s: f"/api/v1/work-orders/{w.order[s]}"),
    Case("start work order", "POST", lambda w, s: f"/api/v1/work-orders/{w.order[s]}/start"),
    Case(
        "store report",
        "GET",
        lambda w, s: "/api/v1/reports/series",
        params=lambda w, s: {"store_id": w.store(s).store_id},
    ),
)
CASE_NAMES = [c.name for c in CASES]
READS = {"read store", "list rooms"}
ALL = set(CASE_NAMES)

# caller -> {store letter: the cases it may do there}; everything else must be refused (403/404).
MATRIX: dict[str, dict[str, set[str]]] = {
    "api token": {s: ALL for s in "ABC"},
    "hq_admin": {s: ALL for s in "ABC"},
    "region_manager (region 1)": {"A": ALL, "B": ALL, "C": set()},
    "store_manager (store A)": {"A": ALL, "B": set(), "C": set()},
    "staff (store A)": {
        "A": READS
        | {
            "list devices",
            "list bookings",
            "read booking",
            "book a room",
            "cancel booking",
            "read work order",
        },
        "B": set(),
        "C": set(),
    },
    "cleaner (store A)": {"A": READS, "B": set(), "C": set()},
    "maintainer (region 1)": {
        "A": READS | {"list devices", "read work order", "start work order"},
        "B": READS | {"list devices", "read work order", "start work order"},
        "C": set(),
    },
    "finance": {s: READS | {"list bookings", "read booking", "store report"} for s in "ABC"},
    "account_manager": {
        s: READS | {"list bookings", "read booking", "book a room", "cancel booking"} for s in "ABC"
    },
    "customer (booking of A)": {"A": {"read booking", "cancel booking"}, "B": set(), "C": set()},
}


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud with cheap argon2 parameters (many logins)."""
    async with fake_clock_cloud(db_url, tmp_path / "cloud", cheap=True) as server:
        yield server


async def _work_order(cloud: CloudServer, tenant_id: str, store: StoreIds) -> str:
    """A work order as the faults domain would open it from an edge's fault event."""
    now = cloud.clock.now()
    order = WorkOrder(
        id=new_id("wo"),
        tenant_id=tenant_id,
        region_id=store.region_id,
        store_id=store.store_id,
        edge_id="e-test",
        event_seq=1,
        fault_id=new_id("f"),
        device_id=None,
        device_kind="lock",
        room_id=store.room_id,
        code="jammed",
        severity="critical",
        message="the lock is jammed",
        state="assigned",
        assignee_role="maintainer",
        hq_alert=True,
        assignee="someone",
        resolution=None,
        raised_at=now - timedelta(minutes=5),
        created_at=now,
        updated_at=now,
        assigned_at=now,
        started_at=None,
        resolved_at=None,
        edge_sync=None,
        edge_sync_code=None,
        edge_synced_at=None,
    )
    async with cloud.sessionmaker() as session:
        session.add(order)
        await session.commit()
    return order.id


async def _caller(cloud: CloudServer, api: httpx.AsyncClient, who: str, world: World) -> httpx.AsyncClient:
    """An HTTP client authenticated as who."""
    if who == "api token":
        return httpx.AsyncClient(base_url=cloud.http_url, headers=dict(api.headers), timeout=15)
    if who.startswith("customer"):
        issued = await api.post("/api/v1/auth/booking-tokens", json={"ref": world.booking["A"]})
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        return httpx.AsyncClient(
            base_url=cloud.http_url, headers={"Authorization": f"Bearer {token}"}, timeout=15
        )
    role = who.split(" ")[0]
    scope: dict[str, list[str]] = {}
    if "(region 1)" in who:
        scope = {"region_ids": [world.a.region_id]}
    elif "(store A)" in who:
        scope = {"store_ids": [world.a.store_id]}
    await create_user(api, f"{role}@matrix.test", role, **scope)
    return await session_client(cloud, f"{role}@matrix.test")


@pytest.mark.parametrize("who", list(MATRIX))
async def test_each_caller_reaches_exactly_what_its_role_and_scope_allow(
    cloud: CloudServer, who: str
) -> None:
    tenant = await new_tenant(cloud, "Matrix Chain")
    async with tenant.api as api:
        a = await make_store(api, "Store A")
        region_1 = a.region_id
        b_store = await api.post("/api/v1/stores", json={"region_id": region_1, "name": "Store B"})
        b_id = b_store.json()["id"]
        rooms_b = [
            (await api.post("/api/v1/rooms", json={"store_id": b_id, "name": n, "kind": "mahjong"})).json()[
                "id"
            ]
            for n in ("B1", "B2")
        ]
        b = StoreIds(region_1, b_id, rooms_b[0], rooms_b[1])
        c = await make_store(api, "Store C")  # its own region
        bookings = {}
        for letter, store in (("A", a), ("B", b), ("C", c)):
            made = await api.post("/api/v1/bookings", json={"room_id": store.room_id, **SLOT, **CUSTOMER})
            assert made.status_code == 201, made.text
            bookings[letter] = made.json()["ref"]
        orders = {
            letter: await _work_order(cloud, tenant.id, store)
            for letter, store in (("A", a), ("B", b), ("C", c))
        }
        world = World(a, b, c, bookings, orders)
        outcomes: dict[tuple[str, str], int] = {}
        async with await _caller(cloud, api, who, world) as client:
            for letter in "ABC":
                for case in CASES:
                    response = await client.request(
                        case.method,
                        case.path(world, letter),
                        json=case.body(world, letter),
                        params=case.params(world, letter),
                    )
                    outcomes[(letter, case.name)] = response.status_code
    allowed = MATRIX[who]
    wrong = {
        key: status
        for key, status in outcomes.items()
        if (key[1] in allowed[key[0]]) != (200 <= status < 300)
        or (status >= 300 and status not in (403, 404))
    }
    assert wrong == {}, f"{who}: unexpected outcomes {wrong}"


async def test_list_endpoints_show_a_scoped_caller_only_its_own_stores(cloud: CloudServer) -> None:
    tenant = await new_tenant(cloud, "Lists Chain")
    async with tenant.api as api:
        a = await make_store(api, "Store A")
        c = await make_store(api, "Store C")
        order_a = await _work_order(cloud, tenant.id, a)
        await _work_order(cloud, tenant.id, c)
        await create_user(api, "m@lists.test", "maintainer", region_ids=[a.region_id])
        await create_user(api, "s@lists.test", "store_manager", store_ids=[c.store_id])
        async with await session_client(cloud, "m@lists.test") as maintainer:
            assert [o["id"] for o in (await maintainer.get("/api/v1/work-orders")).json()] == [order_a]
            assert [s["id"] for s in (await maintainer.get("/api/v1/stores")).json()] == [a.store_id]
            assert [r["id"] for r in (await maintainer.get("/api/v1/regions")).json()] == [a.region_id]
        async with await session_client(cloud, "s@lists.test") as manager:
            assert [s["id"] for s in (await manager.get("/api/v1/stores")).json()] == [c.store_id]
            assert (await manager.get("/api/v1/work-orders")).status_code == 200
            assert all(o["store_id"] == c.store_id for o in (await manager.get("/api/v1/work-orders")).json())
            refused = await manager.post("/api/v1/regions", json={"name": "Mine"})
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        other = await new_tenant(cloud, "Other Chain")
        async with other.api as foreign:
            assert (await foreign.get(f"/api/v1/work-orders/{order_a}")).status_code == 404


# ---- payments: refunds, orders and rejected callbacks, by role and store ----------------------

PAYMENT_CASES = ("list refunds", "retry refund", "read order")
PAY_ALL = set(PAYMENT_CASES)
PAYMENT_MATRIX: dict[str, tuple[dict[str, set[str]], bool]] = {
    # caller -> ({store letter: the payment cases it may do there}, may it see rejected callbacks)
    "api token": ({s: PAY_ALL for s in "ABC"}, True),
    "hq_admin": ({s: PAY_ALL for s in "ABC"}, True),
    "finance": ({s: PAY_ALL for s in "ABC"}, True),
    "region_manager (region 1)": ({"A": PAY_ALL, "B": PAY_ALL, "C": set()}, False),
    "store_manager (store A)": ({"A": PAY_ALL, "B": set(), "C": set()}, False),
    "staff (store A)": ({"A": {"read order"}, "B": set(), "C": set()}, False),
    "account_manager": ({s: {"read order"} for s in "ABC"}, False),
    "cleaner (store A)": ({"A": set(), "B": set(), "C": set()}, False),
    "customer (booking of A)": ({"A": {"read order"}, "B": set(), "C": set()}, False),
}


@pytest.mark.parametrize("who", list(PAYMENT_MATRIX))
async def test_payment_routes_reach_exactly_what_role_and_store_allow(
    db_url: str, tmp_path: Path, who: str
) -> None:

    from simulators.payments import PaymentSimServer
    from tests.integration.cloud.auth_support import cheap_passwords
    from tests.integration.cloud.payments_support import PLAN, SECRET, paying_settings

    async with PaymentSimServer(SECRET) as provider:
        settings = paying_settings(db_url, tmp_path / "cloud", provider)
        async with CloudServer(settings) as cloud:
            assert cloud.app is not None
            cloud.app.state.gatehouse.passwords = cheap_passwords()
            provider.sim.auto_callback = False
            provider.sim.refund_faults = ["refuse"] * 3  # refunds stay pending: a retry has work to do
            tenant = await new_tenant(cloud, "Pay Matrix")
            async with tenant.api as api:
                region_1 = (await api.post("/api/v1/regions", json={"name": "R1"})).json()["id"]
                region_2 = (await api.post("/api/v1/regions", json={"name": "R2"})).json()["id"]
                stores: dict[str, StoreIds] = {}
                for letter, region in (("A", region_1), ("B", region_1), ("C", region_2)):
                    store = (
                        await api.post(
                            "/api/v1/stores", json={"region_id": region, "name": f"Store {letter}"}
                        )
                    ).json()["id"]
                    room = await api.post(
                        "/api/v1/rooms",
                        json={"store_id": store, "name": "M1", "kind": "mahjong", "price_plan": PLAN},
                    )
                    assert room.status_code == 201, room.text
                    stores[letter] = StoreIds(region, store, room.json()["id"], room.json()["id"])
                orders: dict[str, str] = {}
                refunds: dict[str, str] = {}
                bookings: dict[str, str] = {}
                for letter, store in stores.items():
                    item = {"room_id": store.room_id, **SLOT, "party_size": 2}
                    order = await api.post(
                        "/api/v1/orders",
                        json={"items": [item], "customer": {"name": "Li Lei", "phone": "13800001234"}},
                    )
                    assert order.status_code == 201, order.text
                    orders[letter] = order.json()["id"]
                    ref = order.json()["bookings"][0]["ref"]
                    bookings[letter] = ref
                    payment = (await api.post(f"/api/v1/orders/{orders[letter]}/payments", json={})).json()
                    provider.sim.pay(payment["id"])
                    assert (await provider.sim.send_callback(payment["id"])).status_code == 200
                    assert (await api.post(f"/api/v1/bookings/{ref}/cancel")).status_code == 200
                    [refund] = (await api.get("/api/v1/payments/refunds", params={"booking_ref": ref})).json()
                    refunds[letter] = refund["id"]
                await provider.sim.send_callback(payment["id"], secret=b"forged")
                world = World(stores["A"], stores["B"], stores["C"], bookings, {})
                outcomes: dict[tuple[str, str], bool] = {}
                async with await _caller(cloud, api, who, world) as client:
                    for letter in "ABC":
                        listed = await client.get(
                            "/api/v1/payments/refunds", params={"store_id": stores[letter].store_id}
                        )
                        outcomes[(letter, "list refunds")] = listed.status_code == 200 and [
                            r["id"] for r in listed.json()
                        ] == [refunds[letter]]
                        assert listed.status_code in (200, 403), listed.text
                        retried = await client.post(f"/api/v1/payments/refunds/{refunds[letter]}/retry")
                        assert retried.status_code in (200, 403, 404), retried.text
                        outcomes[(letter, "retry refund")] = retried.status_code == 200
                        read = await client.get(f"/api/v1/orders/{orders[letter]}")
                        assert read.status_code in (200, 403, 404), read.text
                        outcomes[(letter, "read order")] = read.status_code == 200
                    rejected = await client.get("/api/v1/payments/rejected-callbacks")
    allowed, sees_rejected = PAYMENT_MATRIX[who]
    wrong = {key: ok for key, ok in outcomes.items() if ok != (key[1] in allowed[key[0]])}
    assert wrong == {}, f"{who}: unexpected outcomes {wrong}"
    assert (rejected.status_code == 200) is sees_rejected, rejected.text
    if sees_rejected:
        assert [r["reason"] for r in rejected.json()] == ["bad_signature"]
    else:
        assert rejected.status_code == 403
