"""The customer's booking pages in headless chromium: store -> room -> slot -> pay -> the rotating code."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from cloud.auth.services import create_tenant_with_token
from cloud.bootstrap import CloudServer
from cloud.clock import SystemClock
from cloud.settings import CloudSettings
from cloud.storekeys import keyring
from protos import codes
from simulators.payments import PaymentSimServer
from tests.support.browser import PHONE, chromium, screenshot

SECRET = "e2e-payment-secret"
PLAN = {
    "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 6000}],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 9000}],
}


async def _world(cloud: CloudServer) -> tuple[str, str]:
    async with cloud.sessionmaker() as session:
        _, token = await create_tenant_with_token(session, "Web Tenant", clock=SystemClock())
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=cloud.http_url, headers=headers) as api:
        region = (await api.post("/api/v1/regions", json={"name": "West"})).json()
        store = (
            await api.post(
                "/api/v1/stores", json={"region_id": region["id"], "name": "Chunxi Road", "city": "Chengdu"}
            )
        ).json()
        room = await api.post(
            "/api/v1/rooms",
            json={
                "store_id": store["id"],
                "name": "Mahjong 8",
                "kind": "mahjong",
                "capacity_min": 1,
                "capacity_max": 4,
                "price_plan": PLAN,
            },
        )
        assert room.status_code == 201, room.text
    return store["id"], room.json()["id"]


async def test_a_customer_books_pays_and_gets_a_code_that_verifies(tmp_path: Path) -> None:
    async with PaymentSimServer(SECRET.encode()) as provider:
        settings = CloudSettings.model_validate(
            {
                "data_dir": tmp_path / "cloud",
                "http_port": 0,
                "grpc_port": 0,
                "enroll_port": 0,
                "master_key": SecretStr(base64.b64encode(bytes(range(32))).decode()),
                "payment_provider_url": provider.url,
                "payment_secret": SecretStr(SECRET),
            }
        )
        async with CloudServer(settings) as cloud:
            store_id, _ = await _world(cloud)
            tomorrow = (datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
            async with chromium() as browser:
                page = await browser.new_page(viewport=PHONE)
                await page.goto(cloud.http_url + "/book/")
                await page.click("text=Chunxi Road")
                await page.fill("input[name=day]", tomorrow.isoformat())
                await page.click("text=Show rooms")
                await page.click("a.room")
                await page.check("input[name=slot] >> nth=10")
                await page.fill("input[name=name]", "Wang Fang")
                await page.fill("input[name=phone]", "13700009876")
                await page.click("#hold")
                await page.wait_for_url(provider.url + "/pay/*")
                await page.click("button:has-text('Pay')")
                await page.wait_for_url("**/book/o/*")
                text = page.locator(".code-text")
                await text.wait_for(timeout=15000)
                await page.wait_for_function(
                    "document.querySelector('.code-text').textContent.startsWith('GH1.')", timeout=15000
                )
                code = await text.text_content()
                order_no = await page.locator(".order-no").text_content()
                assert await page.locator(".qr-img svg").count() == 1
                await screenshot(page, "booking")
            assert code is not None and order_no
            async with cloud.sessionmaker() as session:
                keys = await keyring.load_keys(session, cloud.cipher, store_id)
            claim = codes.verify_code(code, store_id, keys, time.time())
            assert claim.store_id == store_id
