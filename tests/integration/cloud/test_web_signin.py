"""Sign-in to the staff web apps: the login form, role gates, safe redirects, expired sessions under htmx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cloud.bootstrap import CloudServer
from tests.integration.cloud.auth_support import PASSWORD, create_user, fake_clock_cloud
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store, new_tenant


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud on SQLite with cheap password hashing."""
    async with fake_clock_cloud(f"sqlite+aiosqlite:///{tmp_path}/web.db", tmp_path, cheap=True) as server:
        yield server


@pytest.fixture
async def hq(cloud: CloudServer) -> AsyncIterator[Tenant]:
    """A tenant and its API token (HQ admin)."""
    tenant = await new_tenant(cloud, "Web Co")
    async with tenant.api:
        yield tenant


@pytest.fixture
async def store(hq: Tenant) -> StoreIds:
    """A store of the tenant."""
    return await make_store(hq.api)


async def _form_login(
    browser: httpx.AsyncClient, app: str, login: str, password: str = PASSWORD, next_url: str = ""
) -> httpx.Response:
    return await browser.post(f"/{app}/login", data={"login": login, "password": password, "next": next_url})


async def test_a_page_without_a_session_sends_the_browser_to_the_apps_login_and_back(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "fixer@example.com", "maintainer", region_ids=[store.region_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        page = await browser.get("/maint/")
        assert page.status_code == 303 and page.headers["location"] == "/maint/login?next=/maint/"
        form = await browser.get(page.headers["location"])
        assert form.status_code == 200 and 'name="password"' in form.text
        signed_in = await _form_login(browser, "maint", "fixer@example.com", next_url="/maint/")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/maint/"
        assert "HttpOnly" in signed_in.headers["set-cookie"]
        assert (await browser.get("/maint/")).status_code == 200


async def test_a_polling_page_whose_session_ended_is_told_to_load_the_login_page_whole(
    cloud: CloudServer,
) -> None:
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        polled = await browser.get("/maint/", headers={"HX-Request": "true"})
    assert polled.status_code == 204
    assert polled.headers["HX-Redirect"] == "/maint/login?next=/maint/"


async def test_a_wrong_password_shows_the_form_again_with_the_reason(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "fixer@example.com", "maintainer", region_ids=[store.region_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        refused = await _form_login(browser, "maint", "fixer@example.com", "not the password")
    assert refused.status_code == 401 and "wrong login or password" in refused.text
    assert "set-cookie" not in refused.headers


async def test_an_app_refuses_a_role_it_is_not_for_and_opens_no_session(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "cleaner@example.com", "cleaner", store_ids=[store.store_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        refused = await _form_login(browser, "maint", "cleaner@example.com")
        assert refused.status_code == 403 and "not for the cleaner role" in refused.text
        assert "set-cookie" not in refused.headers
        assert (await browser.get("/maint/")).status_code == 303


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
async def test_login_never_redirects_off_site(
    cloud: CloudServer, hq: Tenant, store: StoreIds, next_url: str
) -> None:
    await create_user(hq.api, "fixer@example.com", "maintainer", region_ids=[store.region_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        signed_in = await _form_login(browser, "maint", "fixer@example.com", next_url=next_url)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/maint/"


async def test_signing_out_needs_the_pages_token_and_ends_the_session(
    cloud: CloudServer, hq: Tenant, store: StoreIds
) -> None:
    await create_user(hq.api, "fixer@example.com", "maintainer", region_ids=[store.region_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as browser:
        await _form_login(browser, "maint", "fixer@example.com")
        forged = await browser.post("/maint/logout")
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
        page = await browser.get("/maint/")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        out = await browser.post("/maint/logout", data={"csrf_token": token})
        assert out.status_code == 303
        browser.cookies.clear()
        assert (await browser.get("/maint/")).status_code == 303
