"""The staff panel over real HTTP: sign-in with cached staff, lockout, CSRF, roles, actions, live pushes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from edge.faults.model import FaultCode, FaultSpec
from edge.panel.client import live_updates
from edge.panel.model import LOCKOUT_S
from simulators.printer_escpos import SimulatedEscposPrinter
from tests.integration.edge.fake_cloud import device_change
from tests.integration.edge.rig import END, STAFF_PASSWORD, WAIT_S, Rig, eventually, staff_change


async def staff_actions(rig: Rig, action: str) -> list[dict[str, Any]]:
    """The staff_action journal entries of one kind."""
    entries = [json.loads(e.payload_json) for e in await rig.edge.store.journal() if e.kind == "staff_action"]
    return [e for e in entries if e["action"] == action]


# ---- open endpoints and sign-in ----


async def test_health_and_metrics_are_open_and_everything_else_needs_a_session(rig: Rig) -> None:
    async with rig.panel() as http:
        assert (await http.get("/healthz")).json() == {"status": "ok", "store_data": True}
        assert (await http.get("/metrics")).status_code == 200
        state = await http.get("/api/state")
        redeem = await http.post("/api/redeem", json={"code": rig.code()})
        page = await http.get("/", follow_redirects=False)
        live = await http.get("/events")
    assert (state.status_code, state.json()["code"]) == (401, "unauthenticated")
    assert state.headers["content-type"] == "application/problem+json"
    assert (redeem.status_code, redeem.json()["code"]) == (401, "unauthenticated")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/")
    assert live.status_code == 401
    assert rig.lock.unlocks == 0


async def test_staff_sign_in_with_the_password_the_cloud_holds(rig: Rig) -> None:
    async with rig.panel() as http:
        wrong = await http.post("/api/login", json={"username": "desk", "password": "nope"})
        unknown = await http.post("/api/login", json={"username": "ghost", "password": STAFF_PASSWORD})
        right = await http.post("/api/login", json={"username": "DESK", "password": STAFF_PASSWORD})
        me = await http.get("/api/me")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "bad_credentials")
    assert (unknown.status_code, unknown.json()["code"]) == (401, "bad_credentials")
    assert right.status_code == 200
    assert (right.json()["username"], right.json()["role"]) == ("desk", "staff")
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert me.json()["username"] == "desk"
    assert "door" in me.json()["may"]


async def test_a_role_with_no_panel_business_cannot_sign_in(rig: Rig) -> None:
    async with rig.panel() as http:
        response = await http.post("/api/login", json={"username": "books", "password": STAFF_PASSWORD})
    assert (response.status_code, response.json()["code"]) == (403, "role_not_allowed")


async def test_five_failed_sign_ins_lock_the_username_for_fifteen_minutes(rig: Rig) -> None:
    async with rig.panel() as http:
        for _ in range(5):
            failed = await http.post("/api/login", json={"username": "desk", "password": "guess"})
            assert failed.json()["code"] == "bad_credentials"
        locked = await http.post("/api/login", json={"username": "desk", "password": STAFF_PASSWORD})
        other = await http.post("/api/login", json={"username": "boss", "password": STAFF_PASSWORD})
        rig.clock.advance(LOCKOUT_S - 1)
        still = await http.post("/api/login", json={"username": "desk", "password": STAFF_PASSWORD})
        rig.clock.advance(1)
        again = await http.post("/api/login", json={"username": "desk", "password": STAFF_PASSWORD})
    assert (locked.status_code, locked.json()["code"]) == (429, "locked_out")
    assert int(locked.headers["retry-after"]) == LOCKOUT_S
    assert other.status_code == 200  # per username
    assert still.json()["code"] == "locked_out"
    assert again.status_code == 200


async def test_the_sign_in_page_sets_the_cookie_and_lands_on_the_grid(rig: Rig) -> None:
    async with rig.panel() as http:
        form = await http.get("/login")
        bad = await http.post("/login", data={"username": "desk", "password": "x"})
        good = await http.post(
            "/login", data={"username": "desk", "password": STAFF_PASSWORD, "next": "/devices"}
        )
        grid = await http.get("/")
    assert form.status_code == 200 and 'name="password"' in form.text
    assert bad.status_code == 401 and "bad_credentials" in bad.text
    assert (good.status_code, good.headers["location"]) == (303, "/devices")
    assert grid.status_code == 200 and "Room 1" in grid.text


async def test_a_session_ends_when_the_cloud_disables_the_staff_member(rig: Rig) -> None:
    async with rig.signed_in("desk") as http:
        assert (await http.get("/api/me")).status_code == 200
        rig.cloud.put(staff_change("u-desk", "desk", "staff", active=False))

        async def refused() -> bool:
            return (await http.get("/api/me")).status_code == 401

        await eventually(refused)
        again = await http.post("/api/login", json={"username": "desk", "password": STAFF_PASSWORD})
    assert again.json()["code"] == "bad_credentials"


async def test_a_session_expires_after_its_shift(rig: Rig) -> None:
    async with rig.signed_in("desk") as http:
        rig.clock.advance(12 * 3600)
        response = await http.get("/api/state")
    assert response.status_code == 401


async def test_signing_out_ends_the_session(rig: Rig) -> None:
    async with rig.signed_in("desk") as http:
        assert (await http.post("/api/logout")).status_code == 204
        assert (await http.get("/api/me")).status_code == 401


# ---- CSRF and roles ----


async def test_a_write_without_the_anti_forgery_token_is_refused(rig: Rig) -> None:
    async with rig.signed_in("desk") as http:
        token = http.headers.pop("X-CSRF-Token")
        missing = await http.post("/api/door", json={"room_id": "r1", "reason": "test"})
        forged = await http.post(
            "/api/door", json={"room_id": "r1", "reason": "test"}, headers={"X-CSRF-Token": "forged"}
        )
        form = await http.post("/act/door", data={"room_id": "r1", "reason": "test", "csrf_token": token})
    assert (missing.status_code, missing.json()["code"]) == (403, "csrf_failed")
    assert (forged.status_code, forged.json()["code"]) == (403, "csrf_failed")
    assert form.status_code == 200 and 'data-reason="ok"' in form.text  # the form field works too
    assert rig.lock.unlocks == 1


async def test_a_cleaner_sees_only_the_cleaning_queue_and_marks_rooms_cleaned(rig: Rig) -> None:
    async with rig.signed_in("mop") as http:
        state = await http.get("/api/state")
        door = await http.post("/api/door", json={"room_id": "r1", "reason": "let me in"})
        redeem = await http.post("/api/redeem", json={"code": rig.code()})
        queue = await http.get("/api/cleaning")
        cleaned = await http.post("/api/cleaned", json={"room_id": "r1"})
        home = await http.get("/", follow_redirects=False)
        page = await http.get("/cleaning")
        devices = await http.get("/devices", follow_redirects=False)
    assert (state.status_code, state.json()["code"]) == (403, "forbidden")
    assert door.status_code == 403 and redeem.status_code == 403
    assert queue.json() == {"rooms": []}
    assert cleaned.json()["reason"] == "not_cleaning"  # allowed, but r1 is not being cleaned
    assert (home.status_code, home.headers["location"]) == (303, "/cleaning")
    assert page.status_code == 200 and "Cleaning queue" in page.text
    assert devices.status_code == 303
    assert rig.lock.unlocks == 0


async def test_a_maintainer_may_look_but_not_act(rig: Rig) -> None:
    async with rig.signed_in("fixer") as http:
        state = await http.get("/api/state")
        door = await http.post("/api/door", json={"room_id": "r1", "reason": "checking the lock"})
        fragment = await http.post(
            "/act/door", data={"room_id": "r1", "reason": "x"}, headers={"HX-Request": "true"}
        )
    assert state.status_code == 200
    assert (door.status_code, door.json()["code"]) == (403, "forbidden")
    assert 'data-reason="forbidden"' in fragment.text
    assert rig.lock.unlocks == 0


# ---- state and redemption ----


async def test_the_state_shows_rooms_devices_link_and_cursor(rig: Rig) -> None:
    async with rig.signed_in() as http:
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
    async with rig.signed_in() as http:
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
    assert (r1["state"], r1["booking"]["ref"], r1["ends_at"]) == ("in_use", "B1", END)
    lock = next(d for d in r1["devices"] if d["id"] == "lock-1")
    assert lock["state"] == "unlocked"
    [action] = await staff_actions(rig, "redeem")
    assert (action["username"], action["method"], action["booking_ref"], action["ok"]) == (
        "desk",
        "code",
        "B1",
        True,
    )


async def test_order_number_and_phone_digits_work_at_the_panel(rig: Rig) -> None:
    async with rig.signed_in() as http:
        wrong = await http.post("/api/redeem", json={"order_no": "ORD-1", "phone_last4": "0000"})
        right = await http.post("/api/redeem", json={"order_no": "ORD-1", "phone_last4": "1234"})
    assert (wrong.json()["ok"], wrong.json()["reason"]) == (False, "unknown_order")
    assert (right.json()["ok"], right.json()["booking_ref"]) == (True, "B1")


async def test_the_redeem_form_answers_with_the_reason_code(rig: Rig) -> None:
    async with rig.signed_in() as http:
        refused = await http.post("/act/redeem", data={"order_no": "ORD-1", "phone_last4": "9999"})
        scanned = await http.post("/act/redeem", data={"code": rig.code() + "\n"})
    assert 'data-reason="unknown_order"' in refused.text and "Refused" in refused.text
    assert 'data-reason="ok"' in scanned.text and "B1" in scanned.text
    assert rig.lock.unlocks == 1


async def test_a_garbage_code_is_refused_not_an_error(rig: Rig) -> None:
    async with rig.signed_in() as http:
        response = await http.post("/api/redeem", json={"code": "<script>"})
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["reason"]) == (False, "malformed")


async def test_a_request_that_is_neither_a_code_nor_an_order_is_rejected(rig: Rig) -> None:
    async with rig.signed_in() as http:
        response = await http.post("/api/redeem", json={"pin": "1234"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")


# ---- room actions ----


async def test_opening_a_door_needs_a_reason_and_is_journalled_and_reported(rig: Rig) -> None:
    async with rig.signed_in("boss") as http:
        silent = await http.post("/api/door", json={"room_id": "r1", "reason": "  "})
        opened = await http.post("/api/door", json={"room_id": "r1", "reason": "guest left a bag"})
        nowhere = await http.post("/api/door", json={"room_id": "r9", "reason": "x"})
    assert (silent.json()["ok"], silent.json()["reason"]) == (False, "reason_required")
    assert (opened.json()["ok"], opened.json()["device_id"]) == (True, "lock-1")
    assert nowhere.json()["reason"] == "no_such_room"
    assert rig.lock.unlocks == 1
    doors = [json.loads(e.payload_json) for e in await rig.edge.store.journal() if e.kind == "door_open"]
    assert doors == [
        {
            "cause": "staff",
            "device_id": "lock-1",
            "occupant": "B1",
            "reason": "guest left a bag",
            "room_id": "r1",
            "staff_id": "u-boss",
            "username": "boss",
        }
    ]
    [action] = await staff_actions(rig, "open_door")
    assert (action["username"], action["reason"], action["ok"]) == ("boss", "guest left a bag", True)
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("staff_action")))
    assert rig.cloud.payloads("staff_action")[0]["reason"] == "guest left a bag"


async def test_the_door_of_a_room_in_use_opens_only_when_staff_confirm(rig: Rig) -> None:
    async with rig.signed_in("boss") as http:
        assert (await http.post("/api/redeem", json={"code": rig.code()})).json()["ok"]
        request = {"room_id": "r1", "reason": "noise complaint"}
        asked = (await http.post("/api/door", json=request)).json()
        unlocks = rig.lock.unlocks
        forced = await http.post("/api/door", json={**request, "force": True})
    assert (asked["ok"], asked["reason"], asked["occupant"]) == (False, "room_occupied", "B1")
    assert unlocks == 1, "only the redemption opened the door before staff confirmed"
    assert (forced.json()["ok"], rig.lock.unlocks) == (True, 2)
    doors = [json.loads(e.payload_json) for e in await rig.edge.store.journal() if e.kind == "door_open"]
    assert (doors[-1]["cause"], doors[-1]["occupant"], doors[-1]["forced"]) == ("staff", "B1", True)
    refusal, opening = await staff_actions(rig, "open_door")
    assert (refusal["ok"], refusal["code"], refusal["occupant"]) == (False, "room_occupied", "B1")
    assert (opening["ok"], opening["forced"]) == (True, True)


async def test_power_is_switched_with_a_reason(rig: Rig) -> None:
    async with rig.signed_in() as http:
        on = await http.post("/api/power", json={"room_id": "r1", "on": True, "reason": "AC check"})
        channels_on = list(rig.power.channels)
        off = await http.post("/api/power", json={"room_id": "r1", "on": False, "reason": "AC check done"})
        unsaid = await http.post("/api/power", json={"room_id": "r1", "on": True})
    assert (on.json()["ok"], channels_on) == (True, [True, True])
    assert (off.json()["ok"], rig.power.channels) == (True, [False, False])
    assert unsaid.json()["reason"] == "reason_required"
    assert [a["action"] for a in await staff_actions(rig, "power_on")] == ["power_on"]


async def test_a_session_is_extended_by_minutes_or_to_a_time(rig: Rig) -> None:
    async with rig.signed_in() as http:
        early = await http.post("/api/extend", json={"room_id": "r1", "minutes": 30})
        await http.post("/api/redeem", json={"code": rig.code()})
        by = await http.post("/api/extend", json={"room_id": "r1", "minutes": 30})
        to = await http.post("/api/extend", json={"room_id": "r1", "until": END + 3600})
        back = await http.post("/api/extend", json={"room_id": "r1", "until": END})
        form = await http.post("/act/extend", data={"room_id": "r1", "minutes": "60"})
    assert (early.json()["ok"], early.json()["reason"]) == (False, "no_session")
    assert (by.json()["ok"], by.json()["ends_at"]) == (True, END + 1800)
    assert (to.json()["ok"], to.json()["ends_at"]) == (True, END + 3600)
    assert back.json()["ok"] is False
    assert 'data-reason="ok"' in form.text
    assert (await rig.edge.store.session("r1")).ends_at == END + 7200


async def test_the_cleaning_queue_and_marking_a_room_cleaned(rig: Rig) -> None:
    async with rig.signed_in("desk") as desk, rig.signed_in("mop") as mop:
        await desk.post("/api/redeem", json={"code": rig.code()})
        rig.clock.set(END + 1)

        async def cleaning() -> bool:
            return (await rig.edge.store.session("r1")).state == "cleaning"

        await eventually(cleaning)
        queue = (await mop.get("/api/cleaning")).json()["rooms"]
        assert [(r["room_id"], r["overdue"]) for r in queue] == [("r1", False)]
        rig.clock.advance(31 * 60)
        await eventually(lambda: _overdue(mop))
        page = await mop.get("/cleaning")
        cleaned = await mop.post("/api/cleaned", json={"room_id": "r1"})
        after = (await mop.get("/api/cleaning")).json()["rooms"]
    assert "overdue" in page.text
    assert (cleaned.json()["ok"], cleaned.json()["reason"]) == (True, "ok")
    assert after == []
    assert (await rig.edge.store.session("r1")).state == "free"
    [action] = await staff_actions(rig, "mark_cleaned")
    assert action["username"] == "mop"


async def _overdue(http: httpx.AsyncClient) -> bool:
    rooms = (await http.get("/api/cleaning")).json()["rooms"]
    return bool(rooms) and rooms[0]["overdue"]


async def test_staff_raise_the_alarm_from_the_panel_and_resolve_it(rig: Rig) -> None:
    async with rig.signed_in("boss") as http:
        raised = (await http.post("/api/alarm", json={"code": "emergency", "room_id": "r1"})).json()
        assert await rig.edge.faults.alarm_active()
        [fault] = [f for f in (await http.get("/api/state")).json()["faults"] if f["code"] == "emergency"]
        resolved = await http.post(f"/api/faults/{fault['id']}/resolve", json={"reason": "false alarm"})
    assert (raised["ok"], raised["opened"], raised["failed"]) == (True, ["lock-1"], [])
    assert raised["message"] == "alarm raised: every door of the store unlocked (1 opened)"
    assert rig.lock.unlocks == 1
    assert resolved.json()["ok"] and not await rig.edge.faults.alarm_active()
    [alarm] = await staff_actions(rig, "alarm")
    [resolution] = await staff_actions(rig, "resolve_fault")
    assert (alarm["username"], alarm["reason"], alarm["room_id"]) == ("boss", "emergency", "r1")
    assert (resolution["fault_id"], resolution["reason"]) == (fault["id"], "false alarm")
    kinds = [e.kind for e in await rig.edge.store.journal()]
    assert kinds.index("alarm") < kinds.index("staff_action"), "the alarm and its record, in that order"


async def test_an_open_fault_is_listed_and_resolved_by_hand(rig: Rig) -> None:
    spec = FaultSpec(FaultCode.JAMMED, "bolt stuck", "lock-1", "lock", "r1")
    fault = await rig.edge.faults.raise_fault(spec)
    assert fault is not None
    async with rig.signed_in("boss") as http:
        listed = (await http.get("/api/state")).json()
        page = await http.get("/faults")
        resolved = await http.post(f"/api/faults/{fault.id}/resolve", json={"reason": "bolt freed"})
        again = await http.post(f"/api/faults/{fault.id}/resolve", json={})
        after = (await http.get("/api/state")).json()
    assert [f["code"] for f in listed["faults"]] == ["jammed"]
    assert listed["rooms"][0]["state"] == "maintenance"
    assert "bolt stuck" in page.text
    assert (resolved.json()["ok"], resolved.json()["room_state"]) == (True, "free")
    assert again.json()["reason"] == "unknown_fault"
    assert after["faults"] == []
    [action] = await staff_actions(rig, "resolve_fault")
    assert (action["reason"], action["code"], action["fault_code"]) == ("bolt freed", "ok", "jammed")


async def test_a_test_receipt_prints_and_a_printer_fault_is_an_error(rig: Rig) -> None:
    async with rig.signed_in() as http:
        none = (await http.post("/api/print-test")).json()
        async with SimulatedEscposPrinter() as printer:
            rig.cloud.put(
                device_change("prn-1", "printer", "escpos", "", host="127.0.0.1", port=str(printer.port))
            )

            async def built() -> bool:
                return "prn-1" in rig.edge.devices.statuses() or rig.edge.devices.record("prn-1") is not None

            await eventually(built)
            await rig.edge.devices.wait_synced()
            printed = (await http.post("/api/print-test")).json()
            printer.paper_out = True
            failed = (await http.post("/api/print-test")).json()
            fragment = await http.post("/act/print-test")
    assert (none["ok"], none["reason"]) == (False, "no_printer")
    assert (printed["ok"], printed["printer_id"]) == (True, "prn-1")
    assert "TEST RECEIPT" in printer.text and "by desk" in printer.text
    assert (failed["ok"], failed["reason"], failed["device_code"]) == (False, "device_failed", "paper_out")
    assert "Refused" in fragment.text and "paper_out" in fragment.text


# ---- pages, live updates and metrics ----


async def test_the_pages_are_server_rendered_with_every_asset_served_locally(rig: Rig) -> None:
    async with rig.signed_in() as http:
        await http.post("/api/redeem", json={"code": rig.code()})
        pages = {
            path: await http.get(path)
            for path in ("/", "/rooms/r1", "/cleaning", "/devices", "/faults", "/bookings")
        }
        assets = [
            await http.get(f"/static/{name}") for name in ("htmx.min.js", "sse.js", "panel.css", "panel.js")
        ]
        missing = await http.get("/rooms/r9")
    for path, response in pages.items():
        assert response.status_code == 200, path
        assert "http://" not in response.text and "https://" not in response.text, path
    grid = pages["/"].text
    assert "Store A" in grid and "Room 1" in grid and "Room 2" in grid
    assert "in use" in grid and 'sse-connect="/events?view=grid"' in grid
    assert 'data-room="r1" data-state="in_use"' in grid
    assert "lock-1" in pages["/devices"].text and "B1" in pages["/bookings"].text
    assert all(a.status_code == 200 for a in assets)
    assert missing.status_code == 404


async def test_the_live_grid_pushes_a_change_as_it_is_committed(rig: Rig) -> None:
    # The stream is woken by the store's commit (then a 50 ms debounce), never by a poll: how fast
    # that is end to end is the benchmarks' business, not a timed test's.
    async with rig.signed_in() as http, rig.signed_in() as actor:
        updates = live_updates(http, "grid")
        first = await anext(updates)
        assert 'data-room="r1" data-state="reserved"' in first
        await rig.scanner.scan(rig.code())  # a customer at the door, not the panel
        async with asyncio.timeout(WAIT_S):
            while 'data-room="r1" data-state="in_use"' not in await anext(updates):
                pass
        await actor.post("/api/power", json={"room_id": "r2", "on": True, "reason": "warm up"})
        await updates.aclose()


async def test_a_live_view_ends_when_its_session_does(rig: Rig) -> None:
    async with rig.signed_in("desk") as http:
        updates = live_updates(http, "devices")
        await anext(updates)
        rig.cloud.put(staff_change("u-desk", "desk", "staff", active=False))
        async with asyncio.timeout(WAIT_S):
            last = await anext(updates)
            while "session has ended" not in last:
                last = await anext(updates)
        await updates.aclose()


async def test_metrics_count_redemptions_commands_and_show_state(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    async with rig.signed_in() as http:
        await http.post("/api/redeem", json={"order_no": "ORD-9", "phone_last4": "0000"})
        text = (await http.get("/metrics")).text
    assert 'gatehouse_edge_redemptions_total{method="scan",outcome="redeemed",reason="ok"} 1.0' in text
    assert (
        'gatehouse_edge_redemptions_total{method="order_phone",outcome="refused",reason="unknown_order"} 1.0'
        in text
    )
    assert "gatehouse_edge_scan_to_unlock_seconds_count 1.0" in text
    assert 'gatehouse_edge_device_commands_total{kind="unlock",result="ok"} 1.0' in text
    assert 'gatehouse_edge_device_commands_total{kind="power_on",result="ok"} 1.0' in text
    assert "gatehouse_edge_link_connected 1.0" in text
    assert 'gatehouse_edge_rooms{state="in_use"} 1.0' in text
    assert 'gatehouse_edge_rooms{state="reserved"} 1.0' in text  # r2, held for B2
    assert 'gatehouse_edge_devices{availability="online"}' in text
    assert "gatehouse_edge_outbox_depth " in text
    assert 'gatehouse_edge_panel_sign_ins_total{result="ok"} 1.0' in text
