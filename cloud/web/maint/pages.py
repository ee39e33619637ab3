"""Routes of the maintainer app: my region's open faults, accept, on-site scan, resolve with photos."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Role
from cloud.clock import Clock
from cloud.deps import SESSION_COOKIE, CipherDep, ClockDep, ContextDep, SessionDep, UowDep, credentials
from cloud.errors import DomainError, Invalid, NotFound
from cloud.faults import photos, services, worklog
from cloud.faults.routes import check_upload_length, photo_response, upload_of
from cloud.faults.tables import WorkOrder
from cloud.problems import status_for
from cloud.tenancy.tables import Room, Store
from cloud.uow import UnitOfWork
from cloud.web.common import COMMON_TEMPLATES, WebUser, mount_login, page_user

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=[HERE / "templates", COMMON_TEMPLATES])

MAINT_ROLES = (Role.MAINTAINER, Role.HQ_ADMIN)
HOME = "/maint/"
LOGIN = "/maint/login"
router = APIRouter(prefix="/maint", tags=["maintainer app"], include_in_schema=False)
mount_login(router, title="Gatehouse maintenance", home=HOME, roles=MAINT_ROLES)

_page_user = page_user(LOGIN, MAINT_ROLES)
MaintUser = Annotated[WebUser, Depends(_page_user)]

# Refusals that reach the order page by redirect (the request's body was never read).
REDIRECTED_ERRORS: dict[str, DomainError] = {
    "photo_too_large": photos.PhotoTooLarge(
        f"a photo may be at most {photos.MAX_PHOTO_BYTES // (1024 * 1024)} MB", field="photo"
    ),
    "length_required": Invalid("the upload did not state its length", code="length_required"),
}

# The app's own assets, served by name from this allow-list (jsQR: Apache-2.0, see its LICENSE).
STATIC_FILES = {
    "maint.css": "text/css",
    "maint.js": "text/javascript",
    "jsQR.js": "text/javascript",
    "LICENSE.jsQR.txt": "text/plain",
}


def age(since: datetime, now: datetime) -> str:
    """A short, phone-sized age: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


async def _names(session: AsyncSession, orders: Iterable[WorkOrder]) -> dict[str, str]:
    """Names of the stores and rooms of orders, by id."""
    rows = list(orders)
    store_ids = {o.store_id for o in rows}
    room_ids = {o.room_id for o in rows if o.room_id}
    names: dict[str, str] = {}
    if store_ids:
        names.update(
            (s.id, s.name) for s in await session.scalars(select(Store).where(Store.id.in_(store_ids)))
        )
    if room_ids:
        names.update((r.id, r.name) for r in await session.scalars(select(Room).where(Room.id.in_(room_ids))))
    return names


def _render(
    request: Request, user: WebUser, name: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    base = {"user": user, "app_title": "Maintenance", "app_home": "/maint"}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def _back(order_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/maint/orders/{order_id}{anchor}", status_code=303)


async def _act(
    request: Request,
    user: WebUser,
    uow: UnitOfWork,
    clock: Clock,
    order_id: str,
    step: Callable[[], Awaitable[Any]],
    anchor: str = "",
) -> Response:
    """Take one step of the order; back to the order, or its page again with the step's error."""
    try:
        await step()
    except DomainError as err:
        await uow.rollback()
        return await _order_page(request, user, uow.session, clock.now(), order_id, error=err)
    return _back(order_id, anchor)


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    """The app's scripts and style (served locally: no CDN)."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response(status_code=404)
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": "max-age=300"})


@router.get("/", response_class=HTMLResponse)
async def queue_page(request: Request, user: MaintUser, session: SessionDep, clock: ClockDep) -> HTMLResponse:
    """My region's open work orders, most severe first, then oldest (the list refreshes itself)."""
    orders = await worklog.queue(session, user.principal)
    names = await _names(session, orders)
    await session.commit()
    return _render(
        request, user, "queue.html", orders=orders, names=names, now=clock.now(), age=age, tab="queue"
    )


@router.get("/queue", response_class=HTMLResponse)
async def queue_fragment(
    request: Request, user: MaintUser, session: SessionDep, clock: ClockDep
) -> HTMLResponse:
    """The list alone, for the page's polling."""
    orders = await worklog.queue(session, user.principal)
    names = await _names(session, orders)
    await session.commit()
    return _render(request, user, "_queue.html", orders=orders, names=names, now=clock.now(), age=age)


@router.get("/history", response_class=HTMLResponse)
async def history_page(
    request: Request, user: MaintUser, session: SessionDep, clock: ClockDep
) -> HTMLResponse:
    """The work orders I resolved, newest first."""
    orders = await worklog.history(session, user.principal)
    names = await _names(session, orders)
    await session.commit()
    return _render(
        request, user, "history.html", orders=orders, names=names, now=clock.now(), age=age, tab="history"
    )


async def _order_page(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    now: datetime,
    order_id: str,
    *,
    error: DomainError | None = None,
    status_code: int | None = None,
) -> HTMLResponse:
    try:
        order = await services.get_reachable(session, user.principal, order_id)
    except NotFound as err:
        await session.rollback()
        return _render(request, user, "error.html", status_code=404, error=err)
    entries = await worklog.entries(session, user.principal, order_id)
    photos = await worklog.photos_of(session, user.principal, order_id)
    names = await _names(session, [order])
    await session.commit()
    return _render(
        request,
        user,
        "order.html",
        status_code=status_code or (status_for(error) if error is not None else 200),
        order=order,
        entries=entries,
        photos=photos,
        names=names,
        now=now,
        age=age,
        error=error,
        mine=order.assignee == user.login,
        stale=now - order.raised_at > timedelta(hours=4),
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(
    request: Request,
    order_id: str,
    user: MaintUser,
    session: SessionDep,
    clock: ClockDep,
    error: str | None = None,
) -> HTMLResponse:
    """One work order: what broke, its log and photos, and what may be done next."""
    shown = REDIRECTED_ERRORS.get(error or "")
    return await _order_page(request, user, session, clock.now(), order_id, error=shown, status_code=200)


@router.post("/orders/{order_id}/accept", response_model=None)
async def accept(request: Request, order_id: str, user: MaintUser, uow: UowDep, clock: ClockDep) -> Response:
    """Take the work order."""
    return await _act(
        request, user, uow, clock, order_id, lambda: worklog.accept(uow, clock, user.principal, order_id)
    )


@router.post("/orders/{order_id}/on-site", response_model=None)
async def on_site(
    request: Request,
    order_id: str,
    user: MaintUser,
    uow: UowDep,
    clock: ClockDep,
    cipher: CipherDep,
    code: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    """Confirm presence with the room's QR (scanned by the camera or typed)."""
    return await _act(
        request,
        user,
        uow,
        clock,
        order_id,
        lambda: worklog.on_site(uow, clock, cipher, user.principal, order_id, code),
    )


@router.post("/orders/{order_id}/notes", response_model=None)
async def add_note(
    request: Request,
    order_id: str,
    user: MaintUser,
    uow: UowDep,
    clock: ClockDep,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Add a note."""
    return await _act(
        request,
        user,
        uow,
        clock,
        order_id,
        lambda: worklog.add_note(uow, clock, user.principal, order_id, note),
        "#log",
    )


@router.post("/orders/{order_id}/photos", response_model=None)
async def add_photo(
    request: Request,
    order_id: str,
    session: SessionDep,
    clock: ClockDep,
    context: ContextDep,
) -> Response:
    """Upload a photo taken on site (an oversized one is turned away before its body is read)."""
    try:
        check_upload_length(request)
    except DomainError as err:
        return _back(order_id, f"?error={err.code}#photos")
    # The page user is found only now: its anti-forgery check may read the (bounded) form.
    token = await credentials(
        request, request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
    )
    user = await _page_user(request, session, context, token)
    uow = UnitOfWork(session, context.notifier)

    async def store_photo() -> None:
        upload = await upload_of(request)
        await worklog.add_photo(uow, clock, user.principal, order_id, upload.file, context.uploads_dir)

    return await _act(request, user, uow, clock, order_id, store_photo, "#photos")


@router.post("/orders/{order_id}/resolve", response_model=None)
async def resolve(
    request: Request,
    order_id: str,
    user: MaintUser,
    session: SessionDep,
    clock: ClockDep,
    context: ContextDep,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Resolve with a note; the store's edge returns the room to service."""
    try:
        await services.resolve(context.sessionmaker, clock, context.registry, user.principal, order_id, note)
    except DomainError as err:
        return await _order_page(request, user, session, clock.now(), order_id, error=err)
    return _back(order_id)


@router.get("/orders/{order_id}/photos/{photo_id}", response_model=None)
async def photo(
    request: Request, order_id: str, photo_id: str, user: MaintUser, session: SessionDep, context: ContextDep
) -> Response:
    """A photo of a work order I may see."""
    try:
        found, path = await worklog.photo_file(
            session, user.principal, order_id, photo_id, context.uploads_dir
        )
    except NotFound as err:
        await session.rollback()
        return _render(request, user, "error.html", status_code=404, error=err)
    await session.commit()
    return photo_response(found, path)
