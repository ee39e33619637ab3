"""The maintainer app on a real cloud: my region's queue, accept, on site by QR, notes, photos, resolve."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from cloud.audit.tables import AuditEntry
from cloud.bootstrap import CloudServer
from cloud.faults import photos
from cloud.faults.tables import WorkOrder, WorkOrderPhoto
from cloud.ids import new_id
from cloud.storekeys import keyring
from protos import codes
from tests.integration.cloud.auth_support import PASSWORD, cheap_passwords, create_user
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store

CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


def jpeg(size: tuple[int, int] = (16, 12)) -> bytes:
    """A small real JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


@dataclass
class World:
    """Region A holds store A, region B holds store B; a critical work order in each; one maintainer each."""

    a: StoreIds
    b: StoreIds
    order_a: str
    order_b: str


async def add_order(
    cloud: CloudServer, tenant_id: str, store: StoreIds, *, room: bool = True, **kw: Any
) -> str:
    """A work order as an edge fault opens it (critical lock fault, routed to maintainers)."""
    now = cloud.clock.now()
    values: dict[str, Any] = {
        "id": new_id("wo"),
        "tenant_id": tenant_id,
        "region_id": store.region_id,
        "store_id": store.store_id,
        "edge_id": "e-test",
        "event_seq": 1,
        "fault_id": new_id("f"),
        "device_id": "lock-1",
        "device_kind": "lock",
        "room_id": store.room_id if room else None,
        "code": "jammed",
        "severity": "critical",
        "message": "the bolt is stuck",
        "state": "open",
        "assignee_role": "maintainer",
        "hq_alert": True,
        "assignee": None,
        "resolution": None,
        "raised_at": now - timedelta(minutes=20),
        "created_at": now,
        "updated_at": now,
        "assigned_at": None,
        "started_at": None,
        "resolved_at": None,
        "edge_sync": None,
        "edge_sync_code": None,
        "edge_synced_at": None,
        **kw,
    }
    async with cloud.sessionmaker() as session:
        session.add(WorkOrder(**values))
        await session.commit()
    return str(values["id"])


@pytest.fixture
async def world(cloud: CloudServer, tenant_a: Tenant) -> World:
    """Two regions of tenant A, an open critical order in each, a maintainer of each region."""
    assert cloud.app is not None
    cloud.app.state.gatehouse.passwords = cheap_passwords()
    a = await make_store(tenant_a.api, "Store A")
    b = await make_store(tenant_a.api, "Store B")
    await create_user(tenant_a.api, "mt-a", "maintainer", region_ids=[a.region_id])
    await create_user(tenant_a.api, "mt-b", "maintainer", region_ids=[b.region_id])
    return World(a, b, await add_order(cloud, tenant_a.id, a), await add_order(cloud, tenant_a.id, b))


class App:
    """A browser-like client of /maint signed in by the login form (cookie + the page's CSRF token)."""

    def __init__(self, client: httpx.AsyncClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(self, path: str, data: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return await self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kw)

    async def upload(self, order_id: str, content: bytes, name: str = "photo.jpg") -> httpx.Response:
        return await self.post(
            f"/maint/orders/{order_id}/photos", files={"photo": (name, content, "image/jpeg")}
        )


@pytest.fixture
async def app_a(cloud: CloudServer, world: World) -> AsyncIterator[App]:
    """Maintainer of region A, signed in to the app."""
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=30) as client:
        signed = await client.post(
            "/maint/login", data={"login": "mt-a", "password": PASSWORD, "next": "/maint/"}
        )
        assert signed.status_code == 303, signed.text
        page = await client.get("/maint/")
        assert page.status_code == 200
        match = CSRF.search(page.text)
        assert match is not None
        yield App(client, match.group(1))


async def room_qr(cloud: CloudServer, store_id: str, room_id: str) -> str:
    """The printed QR of a room, sealed with its store's current key."""
    async with cloud.sessionmaker() as session:
        keys = await keyring.load_keys(session, cloud.cipher, store_id)
    version = max(keys)
    return codes.room_code(keys[version], version, store_id, room_id)


def refused_with(response: httpx.Response, code: str, status: int) -> bool:
    return response.status_code == status and f'data-code="{code}"' in response.text


async def state_of(cloud: CloudServer, order_id: str) -> str:
    async with cloud.sessionmaker() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order.state


async def test_a_maintainer_accepts_confirms_on_site_notes_photographs_and_resolves(
    cloud: CloudServer, tenant_a: Tenant, world: World, app_a: App
) -> None:
    order = world.order_a
    older = await add_order(cloud, tenant_a.id, world.a, raised_at=cloud.clock.now() - timedelta(hours=3))
    minor = await add_order(
        cloud, tenant_a.id, world.a, severity="minor", raised_at=cloud.clock.now() - timedelta(days=1)
    )
    queue = await app_a.get("/maint/queue")
    assert order in queue.text and world.order_b not in queue.text
    listed = re.findall(r'data-order="([^"]+)"', queue.text)
    assert listed == [older, order, minor], "most severe first, then oldest"
    assert "Store A" in queue.text and "Mahjong 1" in queue.text and "jammed" in queue.text

    early = await app_a.post(f"/maint/orders/{order}/on-site", {"code": "x"})
    assert refused_with(early, "illegal_transition", 409)
    assert (await app_a.post(f"/maint/orders/{order}/accept")).status_code == 303
    detail = await app_a.get(f"/maint/orders/{order}")
    assert 'data-state="assigned"' in detail.text and "mt-a" in detail.text

    good = await room_qr(cloud, world.a.store_id, world.a.room_id)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    other_store = await room_qr(cloud, world.b.store_id, world.b.room_id)
    other_room = await room_qr(cloud, world.a.store_id, world.a.other_room_id)
    for code, reason, status in (
        (forged, "bad_signature", 422),
        (other_store, "wrong_store", 422),
        (other_room, "wrong_room", 409),
        ("GH1.not-a-room-code", "malformed", 422),
    ):
        refused = await app_a.post(f"/maint/orders/{order}/on-site", {"code": code})
        assert refused_with(refused, reason, status), (reason, refused.status_code)
        assert await state_of(cloud, order) == "assigned"
    assert (await app_a.post(f"/maint/orders/{order}/on-site", {"code": good})).status_code == 303
    assert await state_of(cloud, order) == "in_progress"

    assert refused_with(
        await app_a.post(f"/maint/orders/{order}/notes", {"note": "  "}), "note_required", 422
    )
    assert (
        await app_a.post(f"/maint/orders/{order}/notes", {"note": "cover off, bolt bent"})
    ).status_code == 303
    uploaded = await app_a.upload(order, jpeg())
    assert uploaded.status_code == 303, uploaded.text
    detail = await app_a.get(f"/maint/orders/{order}")
    [photo_url] = re.findall(rf'src="(/maint/orders/{order}/photos/[^"]+)"', detail.text)
    image = await app_a.get(photo_url)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == jpeg()

    assert refused_with(
        await app_a.post(f"/maint/orders/{order}/resolve", {"note": ""}), "note_required", 422
    )
    resolved = await app_a.post(f"/maint/orders/{order}/resolve", {"note": "bolt replaced, door tested"})
    assert resolved.status_code == 303
    detail = await app_a.get(f"/maint/orders/{order}")
    # no edge is connected in this test: the resolution waits for it
    assert 'data-state="resolved"' in detail.text and 'data-sync="pending"' in detail.text
    history = await app_a.get("/maint/history")
    assert order in history.text and "bolt replaced" in history.text
    assert order not in (await app_a.get("/maint/queue")).text

    async with cloud.sessionmaker() as session:
        actions = [
            a.action
            for a in await session.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == order).order_by(AuditEntry.id)
            )
        ]
        [kept] = list(
            await session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order))
        )
    assert actions == [
        "work_order.assign",
        "work_order.start",
        "work_order.note",
        "work_order.photo",
        "work_order.resolve",
    ]
    assert kept.uploader == "user:mt-a" and kept.content_type == "image/jpeg"
    assert "photo.jpg" not in kept.stored_path and kept.stored_path.endswith(".jpg")

    entries = (await tenant_a.api.get(f"/api/v1/work-orders/{order}/entries")).json()
    assert [(e["kind"], e["from_state"], e["to_state"]) for e in entries] == [
        ("assign", "open", "assigned"),
        ("start", "assigned", "in_progress"),
        ("note", None, None),
        ("photo", None, None),
        ("resolve", "in_progress", "resolved"),
    ]


async def test_a_maintainer_sees_and_changes_nothing_of_another_region(
    cloud: CloudServer, tenant_a: Tenant, world: World, app_a: App
) -> None:
    theirs = world.order_b
    # a photo on region B's order, added by HQ through the API
    added = await tenant_a.api.post(
        f"/api/v1/work-orders/{theirs}/photos", files={"photo": ("p.jpg", jpeg())}
    )
    assert added.status_code == 201, added.text
    photo_id = added.json()["id"]
    assert theirs not in (await app_a.get("/maint/")).text
    assert (await app_a.get(f"/maint/orders/{theirs}")).status_code == 404
    assert (await app_a.get(f"/maint/orders/{theirs}/photos/{photo_id}")).status_code == 404
    # and a photo of their order is not reachable through my own order either
    assert (await app_a.get(f"/maint/orders/{world.order_a}/photos/{photo_id}")).status_code == 404
    for path, data in (
        ("accept", {}),
        ("notes", {"note": "hello"}),
        ("resolve", {"note": "done"}),
        ("on-site", {"code": await room_qr(cloud, world.b.store_id, world.b.room_id)}),
    ):
        response = await app_a.post(f"/maint/orders/{theirs}/{path}", data)
        assert response.status_code == 404, (path, response.status_code)
    assert (await app_a.upload(theirs, jpeg())).status_code == 404
    assert await state_of(cloud, theirs) == "open"
    # the JSON API with the same session cookie agrees
    api = app_a.client
    assert (await api.get(f"/api/v1/work-orders/{theirs}")).status_code == 404
    assert (await api.get(f"/api/v1/work-orders/{theirs}/photos/{photo_id}")).status_code == 404
    listed = (await api.get("/api/v1/work-orders")).json()
    assert [o["id"] for o in listed] == [world.order_a]


async def test_photos_are_refused_when_too_large_not_images_or_too_many_and_writes_need_the_token(
    cloud: CloudServer, world: World, app_a: App
) -> None:
    order = world.order_a
    await app_a.post(f"/maint/orders/{order}/accept")
    huge = await app_a.upload(order, b"\xff\xd8\xff" + bytes(photos.MAX_PHOTO_BYTES + 200_000))
    # turned away by its declared length, before its body is read: back to the page, which says why
    assert huge.status_code == 303 and "error=photo_too_large" in huge.headers["location"]
    assert 'data-code="photo_too_large"' in (await app_a.get(huge.headers["location"])).text
    # under the declared-length guard, over the limit: stopped while copying
    just_over = await app_a.upload(order, b"\xff\xd8\xff" + bytes(photos.MAX_PHOTO_BYTES))
    assert refused_with(just_over, "photo_too_large", 422)
    text = await app_a.upload(order, b"a text file that says it is a photo\n", name="photo.jpg")
    assert refused_with(text, "photo_type_not_allowed", 422)
    for _ in range(photos.MAX_PHOTOS_PER_ORDER):
        assert (await app_a.upload(order, jpeg())).status_code == 303
    assert refused_with(await app_a.upload(order, jpeg()), "too_many_photos", 409)
    async with cloud.sessionmaker() as session:
        kept = list(
            await session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order))
        )
    assert len(kept) == photos.MAX_PHOTOS_PER_ORDER
    on_disk = await asyncio.to_thread(
        lambda: [p for p in cloud.settings.uploads_dir.rglob("*") if p.is_file()]
    )
    assert sorted(p.name for p in on_disk) == sorted(Path(p.stored_path).name for p in kept), (
        "refused uploads leave no file behind"
    )

    no_token = await app_a.client.post(f"/maint/orders/{order}/notes", data={"note": "forged"})
    assert (no_token.status_code, no_token.json()["code"]) == (403, "csrf_failed")
    wrong = await app_a.client.post(
        f"/maint/orders/{order}/notes", data={"note": "forged", "csrf_token": "0" * 40}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "csrf_failed")
    no_token_upload = await app_a.client.post(
        f"/maint/orders/{order}/photos", files={"photo": ("p.jpg", jpeg(), "image/jpeg")}
    )
    assert no_token_upload.status_code == 403


async def test_the_json_api_takes_notes_on_site_codes_and_photos_with_stable_refusals(
    cloud: CloudServer, tenant_a: Tenant, world: World
) -> None:
    api = tenant_a.api
    store_wide = await add_order(cloud, tenant_a.id, world.a, room=False)
    base = f"/api/v1/work-orders/{store_wide}"
    await api.post(f"{base}/assign", json={"assignee": "mt-a"})
    forged = await api.post(f"{base}/on-site", json={"code": "GHROOM.x.y.1." + "A" * 26})
    assert (forged.status_code, forged.json()["code"]) == (422, "wrong_store")
    # a store-wide device's fault: any room of the store will do
    any_room = await room_qr(cloud, world.a.store_id, world.a.other_room_id)
    started = await api.post(f"{base}/on-site", json={"code": any_room})
    assert started.json()["state"] == "in_progress"
    note = await api.post(f"{base}/notes", json={"text": "panel replaced"})
    assert note.status_code == 201 and note.json()["kind"] == "note"
    assert (await api.post(f"{base}/notes", json={"text": ""})).json()["code"] == "note_required"
    text = await api.post(f"{base}/photos", files={"photo": ("a.jpg", b"not a photo", "image/jpeg")})
    assert (text.status_code, text.json()["code"]) == (422, "photo_type_not_allowed")
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, format="PNG")
    kept = await api.post(
        f"{base}/photos", files={"photo": ("../../etc/passwd", png.getvalue(), "image/jpeg")}
    )
    assert kept.status_code == 201 and kept.json()["content_type"] == "image/png"
    listed = (await api.get(f"{base}/photos")).json()
    assert [p["id"] for p in listed] == [kept.json()["id"]]
    got = await api.get(f"{base}/photos/{kept.json()['id']}")
    assert got.content == png.getvalue() and got.headers["x-content-type-options"] == "nosniff"
    unresolved = await api.post(f"{base}/resolve", json={"resolution": "  "})
    assert unresolved.json()["code"] == "note_required"
    resolved = await api.post(f"{base}/resolve", json={"resolution": "panel replaced"})
    assert resolved.json()["state"] == "resolved"
    late = await api.post(f"{base}/notes", json={"text": "one more thing"})
    assert (late.status_code, late.json()["code"]) == (409, "work_order_resolved")


async def test_hq_admins_use_the_app_across_regions_and_other_roles_are_turned_away(
    cloud: CloudServer, tenant_a: Tenant, world: World
) -> None:
    await create_user(tenant_a.api, "hq-1", "hq_admin")
    await create_user(tenant_a.api, "rm-1", "region_manager", region_ids=[world.a.region_id])
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=30) as client:
        signed = await client.post("/maint/login", data={"login": "hq-1", "password": PASSWORD})
        assert signed.status_code == 303
        queue = (await client.get("/maint/queue")).text
        assert world.order_a in queue and world.order_b in queue
    async with httpx.AsyncClient(base_url=cloud.http_url, timeout=30) as client:
        refused = await client.post("/maint/login", data={"login": "rm-1", "password": PASSWORD})
        assert refused.status_code == 403
        assert (await client.get("/maint/")).status_code == 303  # back to the sign-in page


async def test_an_upload_that_does_not_state_its_length_is_refused_before_it_is_read(
    tenant_a: Tenant, world: World
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"--x\r\nContent-Disposition: form-data; name=photo; filename=a.jpg\r\n\r\n"
        yield jpeg()
        yield b"\r\n--x--\r\n"

    response = await tenant_a.api.post(
        f"/api/v1/work-orders/{world.order_a}/photos",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "length_required")
