"""The store panel in headless chromium: staff made in the cloud sign in at the edge, redeem, open a door."""

from __future__ import annotations

import json

import httpx

from edge.panel.client import PanelSignInFailed, sign_in
from gatehouse.chain import DemoChain
from tests.e2e.conftest import book_now, door_opened, edge_knows
from tests.support.browser import PHONE, chromium, screenshot
from tests.support.waiting import eventually

DESK = "desk-e2e@demo"
DESK_PASSWORD = "panel-e2e-password"


async def test_staff_sign_in_redeem_by_order_and_phone_and_open_a_door(chain: DemoChain) -> None:
    store = chain.store()
    edge = store.running_edge()
    room = store.rooms[0]
    created = await chain.client().post(
        "/api/v1/users",
        json={
            "login": DESK,
            "display_name": "Front Desk E2E",
            "role": "staff",
            "password": DESK_PASSWORD,
            "store_ids": [store.id],
        },
    )
    assert created.status_code == 201, created.text

    async def staff_arrived() -> bool:
        return await edge.store.staff_member(DESK) is not None

    await eventually(staff_arrived, what="the new staff member to reach the edge")
    booking = await book_now(chain, room)
    await edge_knows(store, booking)
    panel = f"http://127.0.0.1:{edge.panel_port}"

    async with chromium() as browser:
        page = await browser.new_page(viewport=PHONE)
        await page.goto(panel + "/")
        assert "/login" in page.url
        await page.fill("input[name=username]", DESK)
        await page.fill("input[name=password]", DESK_PASSWORD)
        await page.click("button[type=submit]")
        card = f'a.room[data-room="{room.id}"]'
        await page.wait_for_selector(f'{card}[data-state="reserved"]')
        # Anything below must arrive over the live stream: a reload would drop this marker.
        await page.evaluate("window.__noReload = true")

        await page.fill("#order_no", booking["order_no"])
        await page.fill("#phone_last4", booking["phone_last4"])
        await page.click("form.order button[type=submit]")
        await page.wait_for_selector('#redeem-result .result.ok[data-reason="ok"]')
        await page.wait_for_selector(f'{card}[data-state="in_use"]', timeout=5000)
        assert await page.evaluate("window.__noReload === true")
        await door_opened(store, room, 1)
        await screenshot(page, "panel")

        await page.click(card)
        await page.wait_for_url(f"**/rooms/{room.id}")
        await page.fill("#door-reason", "guest left a phone charger")
        await page.click("#open-door")
        # A guest is in the room: staff must confirm they mean to walk in.
        await page.wait_for_selector('#action-result .result.refused[data-reason="room_occupied"]')
        await page.check("#door-force")
        await page.click("#open-door")
        await page.wait_for_selector('#action-result .result.ok[data-reason="ok"]')
        await door_opened(store, room, 2)

    redemption = await edge.store.redemption(booking["ref"])
    assert redemption is not None
    actions = [e for e in await edge.store.journal() if e.kind == "staff_action"]
    assert [a.payload_json.count(DESK) for a in actions] == [1, 1, 1]
    refusal, forced = (json.loads(a.payload_json) for a in actions[1:])
    assert (refusal["code"], refusal["occupant"]) == ("room_occupied", booking["ref"])
    assert (forced["ok"], forced["forced"], forced["reason"]) == (True, True, "guest left a phone charger")


async def test_staff_sign_in_at_the_panel_with_the_cloud_stopped(chain: DemoChain) -> None:
    store = chain.store()
    edge = store.running_edge()
    login = chain.panel_login(store)
    await chain.stop_cloud()

    async def link_down() -> bool:
        return not edge.link.connected

    await eventually(link_down, what="the edge to notice the cloud is gone")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{edge.panel_port}", timeout=10) as http:
        try:
            await sign_in(http, login.login, "not the password")
        except PanelSignInFailed as err:
            assert err.code == "bad_credentials"
        else:
            raise AssertionError("a wrong password signed in")
        me = await sign_in(http, login.login, login.password)
        state = (await http.get("/api/state")).json()
    assert me["role"] == "staff"
    assert state["link_connected"] is False
    assert {r["id"] for r in state["rooms"]} == {r.id for r in store.rooms}
