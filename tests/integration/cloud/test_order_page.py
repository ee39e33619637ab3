"""The room QR page: customers call the staff; the call reaches the edge, or the page says it did not."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cloud.audit.tables import AuditEntry
from cloud.bootstrap import CloudServer
from cloud.servicecalls.model import FORM_TTL_S, INTERRUPTED_AFTER_S
from cloud.servicecalls.services import settle_interrupted
from cloud.servicecalls.tables import ServiceCall
from cloud.settings import CloudSettings
from protos import edgelink_pb2 as pb
from tests.integration.cloud.auth_support import create_user, fake_clock, fake_clock_cloud, session_client
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store
from tests.integration.cloud.edge_client import EdgeLinkClient, enroll_new
from tests.integration.cloud.test_edgelink import connect, new_edge

CALLS_PER_ROOM = CloudSettings().call_limit_per_room
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
async def cloud(db_url: str, tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A cloud whose clock moves only when the test says (form tokens age)."""
    async with fake_clock_cloud(db_url, tmp_path / "cloud", cheap=True) as server:
        yield server


@pytest.fixture
async def phone(cloud: CloudServer) -> AsyncIterator[httpx.AsyncClient]:
    """A customer's browser: no credentials at all."""
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=15) as client:
        yield client


def url(store: StoreIds, room_id: str | None = None) -> str:
    return f"/order/{store.store_id}/{room_id or store.room_id}"


async def page_token(phone: httpx.AsyncClient, path: str) -> str:
    page = await phone.get(path)
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


async def calls(cloud: CloudServer) -> list[ServiceCall]:
    async with cloud.sessionmaker() as session:
        return list(await session.scalars(select(ServiceCall).order_by(ServiceCall.created_at)))


async def test_the_rooms_page_names_the_store_and_the_room_and_offers_the_reasons(
    phone: httpx.AsyncClient, store_a: StoreIds
) -> None:
    page = await phone.get(url(store_a))
    assert page.status_code == 200
    for text in (
        "Store One",
        "Mahjong 1",
        "Call staff",
        "Order at the bar",
        "Something is broken",
        "Cleaning needed",
    ):
        assert text in page.text
    assert TOKEN.search(page.text) is not None
    assert 'href="/book/static/booking.css"' in page.text and "https://" not in page.text


async def test_an_unknown_store_or_room_or_a_room_of_another_store_is_a_404_page(
    phone: httpx.AsyncClient, tenant_a: Tenant, store_a: StoreIds
) -> None:
    other = await make_store(tenant_a.api, "Store Two")
    for path in (
        f"/order/{store_a.store_id}/r-nope",
        f"/order/s-nope/{store_a.room_id}",
        f"/order/{store_a.store_id}/{other.room_id}",
    ):
        response = await phone.get(path)
        assert response.status_code == 404, path
        assert 'data-code="room_not_found"' in response.text
        posted = await phone.post(path, data={"reason": "call_staff", "form_token": "1.x"})
        assert posted.status_code == 404


async def test_a_missing_forged_or_expired_form_token_places_no_call(
    cloud: CloudServer, phone: httpx.AsyncClient, store_a: StoreIds
) -> None:
    path = url(store_a)
    no_token = await phone.post(path, data={"reason": "call_staff"})
    assert no_token.status_code == 403 and 'data-code="form_missing"' in no_token.text
    other_room = await page_token(phone, url(store_a, store_a.other_room_id))
    forged = await phone.post(path, data={"reason": "call_staff", "form_token": other_room})
    assert forged.status_code == 403 and 'data-code="form_bad_signature"' in forged.text
    token = await page_token(phone, path)
    fake_clock(cloud).advance(FORM_TTL_S + 1)
    expired = await phone.post(path, data={"reason": "call_staff", "form_token": token})
    assert expired.status_code == 403 and 'data-code="form_expired"' in expired.text
    # The refusal's page carries a fresh token: tapping again works (here: the edge is offline).
    again = await phone.post(
        path, data={"reason": "call_staff", "form_token": TOKEN.findall(expired.text)[0]}
    )
    assert again.status_code == 503
    assert len(await calls(cloud)) == 1


async def test_a_bad_reason_or_a_long_note_is_refused_on_the_page(
    cloud: CloudServer, phone: httpx.AsyncClient, store_a: StoreIds
) -> None:
    token = await page_token(phone, url(store_a))
    bad = await phone.post(url(store_a), data={"reason": "free_beer", "form_token": token})
    assert bad.status_code == 422 and 'data-code="invalid_reason"' in bad.text
    long = await phone.post(
        url(store_a), data={"reason": "call_staff", "note": "x" * 201, "form_token": token}
    )
    assert long.status_code == 422 and 'data-code="note_too_long"' in long.text
    assert await calls(cloud) == []


async def test_with_the_edge_offline_the_page_says_so_and_the_call_is_kept_undelivered(
    cloud: CloudServer, phone: httpx.AsyncClient, store_a: StoreIds
) -> None:
    token = await page_token(phone, url(store_a))
    response = await phone.post(
        url(store_a), data={"reason": "order_bar", "note": "tea", "form_token": token}
    )
    assert response.status_code == 503
    assert "The front desk could not be reached" in response.text and "Sent" not in response.text
    assert 'data-code="edge_offline"' in response.text
    [call] = await calls(cloud)
    assert (call.status, call.code, call.reason, call.note) == (
        "undelivered",
        "edge_offline",
        "order_bar",
        "tea",
    )
    async with cloud.sessionmaker() as session:
        audit = list(await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == call.id)))
    assert {(a.actor, a.action) for a in audit} == {
        ("customer:qr", "service_call.create"),
        ("customer:qr", "service_call.undelivered"),
    }


async def test_a_call_left_sending_by_a_worker_that_died_is_settled_interrupted_at_the_next_start(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    now = cloud.clock.now()

    def sending(call_id: str, age_s: float) -> ServiceCall:
        return ServiceCall(
            id=call_id,
            tenant_id=tenant_a.id,
            store_id=store_a.store_id,
            room_id=store_a.room_id,
            room_name="Room",
            reason="call_staff",
            note="",
            status="sending",
            code=None,
            command_id=None,
            created_at=now - timedelta(seconds=age_s),
            delivered_at=None,
        )

    async with cloud.sessionmaker() as session:
        session.add_all([sending("sc-old", INTERRUPTED_AFTER_S + 1), sending("sc-live", 1)])
        await session.commit()
    assert await settle_interrupted(cloud.sessionmaker, cloud.clock) == 1
    assert await settle_interrupted(cloud.sessionmaker, cloud.clock) == 0, "settled once"
    by_id = {c.id: c for c in await calls(cloud)}
    assert (by_id["sc-old"].status, by_id["sc-old"].code) == ("undelivered", "interrupted")
    assert by_id["sc-live"].status == "sending", "a call a live worker may still wait on is left alone"
    async with cloud.sessionmaker() as session:
        audit = list(await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == "sc-old")))
    assert [(a.actor, a.action) for a in audit] == [("system:startup", "service_call.undelivered")]


async def test_a_call_reaches_the_edge_as_a_service_call_command_and_the_page_says_sent(
    cloud: CloudServer, phone: httpx.AsyncClient, tenant_a: Tenant, store_a: StoreIds
) -> None:
    created = await new_edge(tenant_a, store_a.store_id)
    identity = await enroll_new(created.enroll_target, created.ca_pem, created.token)
    client, _ = await connect(cloud, identity)
    seen: list[pb.Command] = []

    async def answer(edge: EdgeLinkClient) -> None:
        message = await edge.recv_kind("command", within=10)
        seen.append(message.command)
        args = json.loads(message.command.args_json)
        result = pb.CommandResult(
            command_id=message.command.id,
            ok=True,
            code="ok",
            result_json=json.dumps({"call_id": args["call_id"]}),
        )
        await edge.send(pb.EdgeMessage(command_result=result))

    async with client:
        token = await page_token(phone, url(store_a))
        answering = asyncio.create_task(answer(client))
        response = await phone.post(
            url(store_a), data={"reason": "order_bar", "note": "two teas", "form_token": token}
        )
        await answering
    assert response.status_code == 200, response.text
    assert "Sent — the front desk has it" in response.text and "Order at the bar" in response.text
    [call] = await calls(cloud)
    assert (call.status, call.code, call.room_name) == ("delivered", "ok", "Mahjong 1")
    assert seen[0].kind == "service_call" and call.command_id == seen[0].id
    assert json.loads(seen[0].args_json) == {
        "room_id": store_a.room_id,
        "reason": "order_bar",
        "note": "two teas",
        "call_id": call.id,
    }
    listed = await tenant_a.api.get("/api/v1/service-calls", params={"store_id": store_a.store_id})
    assert listed.status_code == 200
    assert [(c["id"], c["status"], c["reason"]) for c in listed.json()] == [
        (call.id, "delivered", "order_bar")
    ]

    # Staff press Done at the panel: the edge's staff_action event marks the call answered, once.
    answered = {
        "action": "answer_call",
        "call_id": call.id,
        "call_reason": "order_bar",
        "username": "staff@store",
        "ok": True,
        "code": "ok",
        "room_id": store_a.room_id,
    }
    refused = {**answered, "call_id": "sc-unknown", "ok": False, "code": "already_done"}
    client, _ = await connect(cloud, identity)
    async with client:
        await client.send_events((1, "staff_action", refused), (2, "staff_action", answered))
        await client.recv_kind("event_ack")
        await client.send_events((3, "staff_action", answered))
        await client.recv_kind("event_ack")
    [call] = await calls(cloud)
    assert (call.status, call.answered_by) == ("answered", "staff@store")
    listed = await tenant_a.api.get("/api/v1/service-calls", params={"store_id": store_a.store_id})
    assert listed.json()[0]["status"] == "answered" and listed.json()[0]["answered_at"] is not None
    audit = await tenant_a.api.get("/api/v1/audit", params={"entity": "service_call", "entity_id": call.id})
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions.count("service_call.answered") == 1


async def test_calls_from_one_room_are_rate_limited_with_a_friendly_page(
    cloud: CloudServer, phone: httpx.AsyncClient, store_a: StoreIds
) -> None:
    for _ in range(CALLS_PER_ROOM):
        token = await page_token(phone, url(store_a))
        assert (
            await phone.post(url(store_a), data={"reason": "call_staff", "form_token": token})
        ).status_code == 503
    token = await page_token(phone, url(store_a))
    limited = await phone.post(url(store_a), data={"reason": "call_staff", "form_token": token})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert 'data-code="rate_limited"' in limited.text and "Mahjong 1" in limited.text
    # Another room of the same store is not held back by this one.
    other = await page_token(phone, url(store_a, store_a.other_room_id))
    response = await phone.post(
        url(store_a, store_a.other_room_id), data={"reason": "call_staff", "form_token": other}
    )
    assert response.status_code == 503
    assert len(await calls(cloud)) == CALLS_PER_ROOM + 1


async def test_the_calls_api_answers_within_the_callers_stores_only(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    other = await make_store(tenant_a.api, "Store Two")
    await create_user(tenant_a.api, "desk-one", "staff", store_ids=[store_a.store_id])
    await create_user(tenant_a.api, "mop-one", "cleaner", store_ids=[store_a.store_id])
    desk = await session_client(cloud, "desk-one")
    mop = await session_client(cloud, "mop-one")
    async with desk, mop:
        mine = await desk.get("/api/v1/service-calls", params={"store_id": store_a.store_id})
        theirs = await desk.get("/api/v1/service-calls", params={"store_id": other.store_id})
        cleaner = await mop.get("/api/v1/service-calls", params={"store_id": store_a.store_id})
    assert mine.status_code == 200 and mine.json() == []
    assert theirs.status_code == 404 and theirs.json()["code"] == "store_not_found"
    assert cleaner.status_code == 403
