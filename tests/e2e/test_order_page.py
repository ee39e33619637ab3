"""The room QR page in headless chromium: a phone calls the staff, the store's panel shows it live."""

from __future__ import annotations

from typing import Any

from gatehouse.chain import DemoChain
from tests.support.browser import DESKTOP, PHONE, chromium, screenshot
from tests.support.waiting import eventually


async def test_a_phone_orders_at_the_bar_through_staff_and_the_open_panel_shows_it_live(
    chain: DemoChain,
) -> None:
    store = chain.store()
    edge = store.running_edge()
    room = store.rooms[0]
    login = chain.panel_login(store)
    cloud = chain.running_cloud()
    panel = f"http://127.0.0.1:{edge.panel_port}"

    async with chromium() as browser:
        desk_context = await browser.new_context(viewport=DESKTOP)
        desk = await desk_context.new_page()
        await desk.goto(panel + "/")
        await desk.fill("input[name=username]", login.login)
        await desk.fill("input[name=password]", login.password)
        await desk.click("button[type=submit]")
        await desk.wait_for_selector(f'a.room[data-room="{room.id}"]')
        # Anything below must arrive over the live stream: a reload would drop this marker.
        await desk.evaluate("window.__noReload = true")

        phone_context = await browser.new_context(viewport=PHONE)
        phone = await phone_context.new_page()
        await phone.goto(f"{cloud.http_url}/order/{store.id}/{room.id}")
        assert room.name in await phone.inner_text("h1")
        await phone.fill("textarea[name=note]", "two bottles of water")
        await phone.click('button[data-reason="order_bar"]')
        sent = await phone.wait_for_selector('[data-status="delivered"]')
        assert "Sent — the front desk has it" in await sent.inner_text()
        await screenshot(phone, "order")

        call = f'.calls li.call[data-room="{room.id}"][data-reason="order_bar"]'
        await desk.wait_for_selector(call, timeout=5000)
        assert "two bottles of water" in await desk.inner_text(call)
        await desk.wait_for_selector(f'a.room[data-room="{room.id}"] .called')
        assert await desk.evaluate("window.__noReload === true")
        await screenshot(desk, "order-panel")

        await desk.click(f"{call} button.done")
        await desk.wait_for_selector('#call-result .result.ok[data-reason="ok"]')
        await desk.wait_for_selector(call, state="detached", timeout=5000)
        assert await desk.evaluate("window.__noReload === true")

    async def kept_done() -> bool:
        return not await edge.store.open_service_calls()

    await eventually(kept_done, what="the call to be done at the edge")

    async def answered_in_the_cloud() -> list[dict[str, Any]] | None:
        listed = await chain.client().get("/api/v1/service-calls", params={"store_id": store.id})
        calls: list[dict[str, Any]] = listed.json()
        return calls if calls and calls[0]["status"] == "answered" else None

    calls = await eventually(answered_in_the_cloud, what="the staff's answer to reach the cloud")
    assert [(c["room_id"], c["reason"], c["answered_by"]) for c in calls] == [
        (room.id, "order_bar", chain.panel_login(store).login)
    ]
