"""HTTP routes of fault work orders: list, show, assign, on site, notes, photos, resolve (in reach)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud.auth.model import in_reach
from cloud.deps import (
    CipherDep,
    ClockDep,
    ContextDep,
    FaultsRead,
    SessionDep,
    UowDep,
    WorkOrderRead,
    WorkOrderWrite,
)
from cloud.errors import Invalid
from cloud.faults import photos, services, worklog
from cloud.faults.model import WorkOrderState
from cloud.faults.schemas import (
    AssignIn,
    EntryOut,
    NoteIn,
    OnSiteIn,
    PhotoOut,
    ResolveIn,
    WorkOrderOut,
)
from cloud.faults.tables import WorkOrderPhoto

router = APIRouter(prefix="/api/v1", tags=["faults"])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/work-orders")
async def list_work_orders(
    principal: FaultsRead,
    session: SessionDep,
    state: WorkOrderState | None = None,
    store_id: str | None = None,
    region_id: str | None = None,
    assignee_role: str | None = None,
    severity: str | None = None,
    limit: Limit = 100,
) -> list[WorkOrderOut]:
    """The tenant's work orders, newest first (filter by state, store, region, role, severity)."""
    rows = await services.list_work_orders(
        session,
        principal,
        state=state,
        store_id=store_id,
        region_id=region_id,
        assignee_role=assignee_role,
        severity=severity,
        limit=limit,
    )
    # outside the caller's region/stores: dropped (the query itself is tenant-scoped)
    return [
        WorkOrderOut.model_validate(r)
        for r in rows
        if in_reach(principal, r.tenant_id, store_id=r.store_id, region_id=r.region_id)
    ]


@router.get("/work-orders/{order_id}")
async def get_work_order(order_id: str, principal: WorkOrderRead, session: SessionDep) -> WorkOrderOut:
    """One work order."""
    return WorkOrderOut.model_validate(await services.get_work_order(session, principal, order_id))


@router.post("/work-orders/{order_id}/assign")
async def assign(
    order_id: str, body: AssignIn, principal: WorkOrderWrite, uow: UowDep, clock: ClockDep
) -> WorkOrderOut:
    """Assign (or hand over) a work order."""
    order = await services.assign(uow, clock, principal, order_id, body.assignee)
    return WorkOrderOut.model_validate(order)


@router.post("/work-orders/{order_id}/start")
async def start(order_id: str, principal: WorkOrderWrite, uow: UowDep, clock: ClockDep) -> WorkOrderOut:
    """The assignee is on site and working on it."""
    return WorkOrderOut.model_validate(await services.start(uow, clock, principal, order_id))


@router.post("/work-orders/{order_id}/resolve")
async def resolve(
    order_id: str, body: ResolveIn, principal: WorkOrderWrite, clock: ClockDep, context: ContextDep
) -> WorkOrderOut:
    """Confirm the fix; the edge returns the room to service (edge_sync "pending" while it is offline)."""
    order = await services.resolve(
        context.sessionmaker, clock, context.registry, principal, order_id, body.resolution
    )
    return WorkOrderOut.model_validate(order)


def check_upload_length(request: Request) -> None:
    """Refuse an upload by its declared length, before any of its body is read (a missing length too)."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise Invalid("a photo upload states its length", code="length_required", field="photo")
    photos.check_size(int(length), photos.MAX_PHOTO_BYTES + photos.MULTIPART_OVERHEAD)


def photo_upload_guard(request: Request) -> None:
    """A dependency declared before the caller's: the anti-forgery check (which may parse a form)
    never reads an oversized body."""
    check_upload_length(request)


UploadGuard = Annotated[None, Depends(photo_upload_guard)]


async def upload_of(request: Request, field: str = "photo") -> StarletteUploadFile:
    """The one file of a multipart form (Invalid when missing)."""
    try:
        form = await request.form(max_files=1, max_fields=8)
    except (HTTPException, StarletteHTTPException) as err:
        raise Invalid(f"the upload is not a form with one photo: {err.detail}", code="bad_upload") from err
    value = form.get(field)
    if not isinstance(value, StarletteUploadFile):
        raise Invalid("choose a photo to upload", code="photo_required", field=field)
    return value


def photo_response(photo: WorkOrderPhoto, path: Path) -> FileResponse:
    """A photo's bytes, as the type its content was checked to be, kept private to the viewer."""
    return FileResponse(
        path,
        media_type=photo.content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/work-orders/{order_id}/entries")
async def list_entries(order_id: str, principal: WorkOrderRead, session: SessionDep) -> list[EntryOut]:
    """The work order's log: transitions and notes, oldest first."""
    return [EntryOut.model_validate(e) for e in await worklog.entries(session, principal, order_id)]


@router.post("/work-orders/{order_id}/notes", status_code=201)
async def add_note(
    order_id: str, body: NoteIn, principal: WorkOrderWrite, uow: UowDep, clock: ClockDep
) -> EntryOut:
    """Add a note to an unresolved work order."""
    return EntryOut.model_validate(await worklog.add_note(uow, clock, principal, order_id, body.text))


@router.post("/work-orders/{order_id}/on-site")
async def on_site(
    order_id: str, body: OnSiteIn, principal: WorkOrderWrite, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> WorkOrderOut:
    """Confirm presence with the room's printed QR: the assigned order goes in progress."""
    order = await worklog.on_site(uow, clock, cipher, principal, order_id, body.code)
    return WorkOrderOut.model_validate(order)


@router.get("/work-orders/{order_id}/photos")
async def list_photos(order_id: str, principal: WorkOrderRead, session: SessionDep) -> list[PhotoOut]:
    """The work order's photos."""
    return [PhotoOut.model_validate(p) for p in await worklog.photos_of(session, principal, order_id)]


@router.post("/work-orders/{order_id}/photos", status_code=201)
async def add_photo(
    _guard: UploadGuard,
    order_id: str,
    request: Request,
    principal: WorkOrderWrite,
    uow: UowDep,
    clock: ClockDep,
    context: ContextDep,
) -> PhotoOut:
    """Upload a photo (multipart field `photo`; JPEG, PNG or WebP, checked by content)."""
    upload = await upload_of(request)
    photo = await worklog.add_photo(uow, clock, principal, order_id, upload.file, context.uploads_dir)
    return PhotoOut.model_validate(photo)


@router.get("/work-orders/{order_id}/photos/{photo_id}", response_class=FileResponse)
async def get_photo(
    order_id: str, photo_id: str, principal: WorkOrderRead, session: SessionDep, context: ContextDep
) -> FileResponse:
    """A photo's bytes (only for those who may read the work order)."""
    photo, path = await worklog.photo_file(session, principal, order_id, photo_id, context.uploads_dir)
    await session.commit()
    return photo_response(photo, path)
