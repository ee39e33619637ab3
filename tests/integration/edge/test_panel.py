"""The edge-local panel over real HTTP: health, state, redemption and the room grid."""

from __future__ import annotations

import httpx

from tests.integration.edge.rig import Rig


def client(rig: Rig) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rig.edge.panel_port}", timeout=10)


async def test_the_panel_answers_its_health_check(rig: Rig) -> None:
    async with client(rig) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_the_state_shows_rooms_devices_link_and_cursor(rig: Rig) -> None:
    async with client(rig) as http:
        state = (await http.get("/api/state")).json()
    assert state["store_id"] == "store-a"
    assert state["link_connected"] is True
    assert state["cursor"] == rig.cloud.cursor
    assert [r["id"] for r in state["rooms"]] == ["r1", "r2"]
    r1 = state["rooms"][0]
    # B1's window is open: the room is held for it until it is redeemed or its time is up.
    assert r1["state"] == "reserved"
    assert r1["next_booking"]["ref"] == "B1"
    assert {d["id"] for d in r1["devices"]} == {"lock-1", "pw-1", "scan-1"}
    assert [d["id"] for d in state["store_devices"]] == ["gate-1"]


async def test_a_code_typed_at_the_panel_opens_the_room_and_shows_it_in_use(rig: Rig) -> None:
    async with client(rig) as http:
        response = await http.post("/api/redeem", json={"code": rig.code()})
        state = (await http.get("/api/state")).json()
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "reason": "ok",
        "outcome": "redeemed",
        "booking_ref": "B1",
        "room_id": "r1",
        "known": True,
    }
    assert rig.lock.unlocks == 1
    r1 = state["rooms"][0]
    assert (r1["state"], r1["booking"]["ref"]) == ("in_use", "B1")
    lock = next(d for d in r1["devices"] if d["id"] == "lock-1")
    assert lock["state"] == "unlocked"


async def test_order_number_and_phone_digits_work_at_the_panel(rig: Rig) -> None:
    async with client(rig) as http:
        wrong = await http.post("/api/redeem", json={"order_no": "ORD-1", "phone_last4": "0000"})
        right = await http.post("/api/redeem", json={"order_no": "ORD-1", "phone_last4": "1234"})
    assert (wrong.json()["ok"], wrong.json()["reason"]) == (False, "unknown_order")
    assert (right.json()["ok"], right.json()["booking_ref"]) == (True, "B1")


async def test_a_garbage_code_is_refused_not_an_error(rig: Rig) -> None:
    async with client(rig) as http:
        response = await http.post("/api/redeem", json={"code": "<script>"})
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["reason"]) == (False, "malformed")


async def test_a_request_that_is_neither_a_code_nor_an_order_is_rejected(rig: Rig) -> None:
    async with client(rig) as http:
        response = await http.post("/api/redeem", json={"pin": "1234"})
    assert response.status_code == 422


async def test_the_room_grid_is_server_rendered_html_without_external_assets(rig: Rig) -> None:
    async with client(rig) as http:
        await http.post("/api/redeem", json={"code": rig.code()})
        response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Store A" in page
    assert "Room 1" in page and "Room 2" in page
    assert "in use" in page
    assert "http://" not in page and "https://" not in page
