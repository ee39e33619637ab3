"""The maintainer app in chromium on a phone: a jammed lock's work order, fixed on site, frees the room.

The phone's camera is chromium's fake capture device playing a video of the room's printed QR.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from PIL import Image

from cloud.storekeys import keyring
from edge.sessions.model import RoomState
from gatehouse.chain import DemoChain
from protos import codes
from tests.e2e.conftest import book_now, edge_knows, scan
from tests.support.browser import PHONE, chromium, qr_video, screenshot
from tests.support.waiting import eventually


async def test_a_maintainer_resolves_a_fault_and_the_room_returns_to_free_on_the_panel(
    chain: DemoChain, tmp_path: Path
) -> None:
    store = chain.store("Demo Store A")
    room = store.room("Mahjong 1")
    edge = store.running_edge()
    assert store.devices is not None
    maintainer = next(x for x in chain.logins if x.role == "maintainer")
    cloud = chain.running_cloud()
    photo = tmp_path / "bolt.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 120, 120)).save(buffer, format="JPEG")
    photo.write_bytes(buffer.getvalue())

    # The room's printed QR, as the phone's camera sees it on site.
    async with cloud.sessionmaker() as session:
        keys = await keyring.load_keys(session, cloud.cipher, store.id)
    version = max(keys)
    camera = qr_video(codes.room_code(keys[version], version, store.id, room.id), tmp_path / "room-qr.y4m")

    async with chromium(camera=camera) as browser:
        page = await browser.new_page(viewport=PHONE, permissions=["camera"])
        await page.goto(cloud.http_url + "/maint/")
        await page.fill("input[name=login]", maintainer.login)
        await page.fill("input[name=password]", maintainer.password)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/maint/")
        assert await page.locator("li.order").count() == 0

        # A guest arrives; the lock is jammed: the door stays shut and the edge raises a critical fault.
        booking = await book_now(chain, room)
        await edge_knows(store, booking)
        store.devices.lock(room.lock).jammed = True
        await scan(store, room, booking, time.time())

        async def out_of_service() -> bool:
            return (await edge.store.session(room.id)).state is RoomState.MAINTENANCE

        await eventually(out_of_service, timeout=20, what="the room out of service at the edge")
        store.devices.lock(room.lock).jammed = False

        async def work_order() -> dict[str, Any] | None:
            orders: list[dict[str, Any]] = (
                await chain.client().get("/api/v1/work-orders", params={"store_id": store.id})
            ).json()
            return next((o for o in orders if o["room_id"] == room.id and o["severity"] == "critical"), None)

        order = await eventually(work_order, timeout=20, what="the jam's work order")
        # The guest is moved to another room: with no booking left the fixed room will be free.
        cancelled = await chain.client().post(f"/api/v1/bookings/{booking['ref']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        async def edge_heard_of_the_cancellation() -> bool:
            cached = await edge.store.booking(booking["ref"])
            return cached is None or cached.status != "confirmed"

        await eventually(edge_heard_of_the_cancellation, what="the cancellation at the edge")
        # the open list shows it without a reload
        item = page.locator(f'li.order[data-order="{order["id"]}"]')
        await item.wait_for(timeout=15_000)
        assert "Mahjong 1" in await item.inner_text()
        await screenshot(page, "maint")

        await item.locator("a").click()
        await page.click("text=Accept")
        await page.wait_for_selector('#state[data-state="assigned"]')
        # On site: the camera reads the room's QR (jsQR or BarcodeDetector) and the form goes by itself.
        await page.click("[data-scan]")
        await page.wait_for_selector('#state[data-state="in_progress"]')

        await page.set_input_files("input[name=photo]", str(photo))
        await page.click("#photos button[type=submit]")
        await page.wait_for_selector("#photos .photos img")
        await page.evaluate("window.scrollTo(0, 0)")
        await screenshot(page, "maint_order")
        await page.fill("#resolve textarea[name=note]", "bolt freed and lubricated; door tested")
        await page.click("#resolve button[type=submit]")
        await page.wait_for_selector('#state[data-state="resolved"]')

        async def free() -> bool:
            return (await edge.store.session(room.id)).state is RoomState.FREE

        await eventually(free, timeout=20, what="the room back to free at the edge")
        # ... and on the store's panel, where the front desk sees it.
        desk = chain.panel_login(store)
        panel = await browser.new_page(viewport=PHONE)
        await panel.goto(f"http://127.0.0.1:{edge.panel_port}/")
        await panel.fill("input[name=username]", desk.login)
        await panel.fill("input[name=password]", desk.password)
        await panel.click("button[type=submit]")
        await panel.wait_for_selector(f'a.room[data-room="{room.id}"][data-state="free"]')
        resolved = (await chain.client().get(f"/api/v1/work-orders/{order['id']}")).json()
        assert (resolved["state"], resolved["edge_sync"]) == ("resolved", "done")
        await page.click("text=My history")
        assert order["id"] in await page.content()
