"""Rate limits on the pages people post forms to: a page saying when to try again, never the API's JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cloud.bootstrap import CloudServer
from simulators.payments import PaymentSimServer
from tests.integration.cloud.conftest import StoreIds
from tests.integration.cloud.payments_support import SECRET, paying_settings

LIMIT = 2


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud with a payment provider, allowing two holds and two sign-ins per address a minute."""
    async with PaymentSimServer(SECRET) as provider:
        settings = paying_settings(
            db_url, tmp_path / "cloud", provider, hold_limit_per_ip=LIMIT, login_limit_per_ip=LIMIT
        )
        async with CloudServer(settings) as server:
            yield server


async def test_the_booking_page_refuses_a_third_hold_with_a_page_and_retry_after(
    cloud: CloudServer, store_a: StoreIds
) -> None:
    path = f"/book/rooms/{store_a.room_id}/hold"
    form = {"slot": "not a slot", "name": "Li Lei", "phone": "13800001234", "party": "2"}
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        answers = [await browser.post(path, data=form) for _ in range(LIMIT + 1)]
    assert [a.status_code for a in answers[:LIMIT]] == [409] * LIMIT  # counted, refused for the slot
    limited = answers[LIMIT]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert 'data-code="rate_limited"' in limited.text
    assert int(limited.headers["Retry-After"]) > 0
    assert f'href="/book/rooms/{store_a.room_id}?party=2"' in limited.text, "a way back to the room"


async def test_the_sign_in_form_refuses_a_third_attempt_with_the_form_and_retry_after(
    cloud: CloudServer,
) -> None:
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        answers = [
            await browser.post("/admin/login", data={"login": "nobody@x", "password": "wrong"})
            for _ in range(LIMIT + 1)
        ]
    assert [a.status_code for a in answers] == [401] * LIMIT + [429]
    limited = answers[LIMIT]
    assert limited.headers["content-type"].startswith("text/html")
    assert "too many sign-in attempts" in limited.text and 'name="password"' in limited.text
    assert int(limited.headers["Retry-After"]) > 0
