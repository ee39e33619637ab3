"""The HQ admin app in headless chromium: sign in, dashboard, a new room that appears on the store's panel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloud.seed import seed_history
from gatehouse.chain import DemoChain
from tests.support.browser import DESKTOP, PHONE, chromium, screenshot
from tests.support.waiting import eventually


@pytest.fixture
async def chain(tmp_path: Path) -> AsyncIterator[DemoChain]:
    """The demo chain with two days of booking history and the edge of Demo Store A running."""
    async with DemoChain(tmp_path, edges=["Demo Store A"], history_days=2) as running:
        yield running


async def test_an_hq_admin_signs_in_sees_the_dashboard_and_a_new_room_reaches_the_stores_edge(
    chain: DemoChain,
) -> None:
    store = chain.store("Demo Store A")
    admin = next(x for x in chain.logins if x.role == "hq_admin")
    base = chain.running_cloud().http_url
    edge = store.running_edge()
    async with chromium() as browser:
        # The front desk watches the store's panel while HQ works.
        desk = chain.panel_login(store)
        panel = await browser.new_page(viewport=PHONE)
        await panel.goto(f"http://127.0.0.1:{edge.panel_port}/")
        await panel.fill("input[name=username]", desk.login)
        await panel.fill("input[name=password]", desk.password)
        await panel.click("button[type=submit]")
        await panel.wait_for_selector("a.room")
        await panel.evaluate("window.__noReload = true")

        page = await browser.new_page(viewport=DESKTOP)
        await page.goto(base + "/admin/")
        assert "/admin/login" in page.url
        await page.fill("input[name=login]", admin.login)
        await page.fill("input[name=password]", admin.password)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#tiles")
        assert await page.locator("[data-store]").count() == 2
        revenue = await page.locator("[data-tile=revenue]").inner_text()
        assert revenue.startswith("¥")
        assert await page.locator("svg.chart").count() == 2
        await screenshot(page, "admin")

        await page.goto(f"{base}/admin/rooms?store_id={store.id}")
        await page.fill("form.room-form input[name=name]", "Tea Room 2")
        await page.fill("form.room-form input[name=kind]", "tea")
        await page.fill("form.room-form input[name=capacity_max]", "6")
        await page.fill("form.room-form input[name=facilities]", "tea table, window")
        await page.click("form.room-form button[type=submit]")
        await page.wait_for_selector("text=Room created.")
        assert await page.locator("table[data-table=rooms] >> text=Tea Room 2").count() == 1

        rooms = (await chain.client().get("/api/v1/rooms", params={"store_id": store.id})).json()
        room_id = next(r["id"] for r in rooms if r["name"] == "Tea Room 2")
        # The new room appears on the panel by itself: over the link, then the panel's live stream.
        await panel.wait_for_selector(f'a.room[data-room="{room_id}"][data-state="free"]', timeout=15_000)
        assert "Tea Room 2" in await panel.locator(f'a.room[data-room="{room_id}"]').inner_text()
        assert await panel.evaluate("window.__noReload === true")

    async def on_the_edge() -> object:
        return await edge.store.room(room_id)

    room = await eventually(on_the_edge, timeout=15, what="the new room to reach the store's edge")
    assert getattr(room, "name", None) == "Tea Room 2"


async def test_the_seeded_history_fills_the_reports_and_a_rerun_adds_nothing(chain: DemoChain) -> None:
    series = (await chain.client().get("/api/v1/reports/series", params={"count": 3})).json()
    assert sum(b["revenue"] for b in series["total"]) > 0
    assert sum(b["due"] for b in series["total"]) > 0
    cloud = chain.running_cloud()
    assert chain.seed is not None
    again = await seed_history(cloud.sessionmaker, cipher=cloud.cipher, seed=chain.seed, days=2)
    assert again == 0
