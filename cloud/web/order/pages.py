"""Routes of the room QR page: `GET /order/{store}/{room}` shows the reasons, `POST` calls the staff.

No sign-in: whoever holds the room's QR may call. A cross-site POST is refused by the page's signed,
short-lived form token; calls are rate limited per room and per client address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cloud.deps import ContextDep
from cloud.errors import Invalid, NotFound
from cloud.ratelimit.http import RateLimited, RateRules, limits_of
from cloud.ratelimit.model import Rule
from cloud.servicecalls import services
from cloud.servicecalls.model import (
    FORM_KEY_PURPOSE,
    MAX_NOTE,
    REASON_LABELS,
    CallStatus,
    FormRefused,
    check_form_token,
    form_token,
    parse_call,
)
from cloud.tenancy.tables import Room, Store

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/order", tags=["order pages"], include_in_schema=False)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _not_found(request: Request) -> HTMLResponse:
    return _render(request, "not_found.html", status_code=404)


def _local_time(when: datetime, store: Store) -> str:
    try:
        tz = ZoneInfo(store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return when.astimezone(tz).strftime("%H:%M")


def _form_page(
    request: Request,
    ctx: ContextDep,
    store: Store,
    room: Room,
    *,
    status_code: int = 200,
    error: str | None = None,
    code: str | None = None,
    note: str = "",
) -> HTMLResponse:
    # Every form page carries a fresh token, so a refused one can simply be sent again.
    issued = int(ctx.clock.now().timestamp())
    token = form_token(ctx.cipher.mac_key(FORM_KEY_PURPOSE), store.id, room.id, issued)
    return _render(
        request,
        "order.html",
        status_code=status_code,
        store=store,
        room=room,
        token=token,
        reasons=[(r.value, label) for r, label in REASON_LABELS.items()],
        max_note=MAX_NOTE,
        error=error,
        code=code,
        note=note,
    )


def _limited(request: Request, err: RateLimited, store: Store | None, room: Room | None) -> HTMLResponse:
    response = _render(
        request, "limited.html", status_code=429, store=store, room=room, retry_after_s=err.retry_after_s
    )
    response.headers["Retry-After"] = str(err.retry_after_s)
    return response


def _client_ip(request: Request) -> str:
    limits = limits_of(request)
    peer = request.client.host if request.client else None
    if limits is None:
        return peer or "unknown"
    return limits.client_ip({k.lower(): v for k, v in request.headers.items()}, peer)


async def _check(request: Request, rule: Callable[[RateRules], Rule], identity: str) -> None:
    limits = limits_of(request)
    if limits is not None:
        await limits.check(rule(limits.rules), identity)


@router.get("/{store_id}/{room_id}", response_class=HTMLResponse)
async def order_page(request: Request, store_id: str, room_id: str, ctx: ContextDep) -> HTMLResponse:
    """The room's page: its name, what the customer may ask for, and a note."""
    async with ctx.sessionmaker() as session:
        try:
            found = await services.room_of_store(session, store_id, room_id)
        except NotFound:
            return _not_found(request)
    return _form_page(request, ctx, found.store, found.room)


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form's fields (the page posts a plain form)."""
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


@router.post("/{store_id}/{room_id}", response_class=HTMLResponse)
async def call_staff(request: Request, store_id: str, room_id: str, ctx: ContextDep) -> HTMLResponse:
    """Call the staff to the room: sent (the edge has it), or an honest error."""
    try:
        await _check(request, lambda rules: rules.call_ip, _client_ip(request))
    except RateLimited as err:
        return _limited(request, err, None, None)
    async with ctx.sessionmaker() as session:
        try:
            found = await services.room_of_store(session, store_id, room_id)
        except NotFound:
            return _not_found(request)
    store, room = found.store, found.room
    form = await _form(request)
    note = form.get("note", "")[: MAX_NOTE * 4]
    key = ctx.cipher.mac_key(FORM_KEY_PURPOSE)
    try:
        check_form_token(key, store.id, room.id, form.get("form_token"), ctx.clock.now().timestamp())
    except FormRefused as err:
        message = (
            "This page was open too long. Please tap again."
            if err.code == "form_expired"
            else "This request did not come from the room's page. Please tap again."
        )
        return _form_page(request, ctx, store, room, status_code=403, error=message, code=err.code, note=note)
    try:
        call = parse_call(form.get("reason", ""), note)
    except Invalid as err:
        return _form_page(
            request, ctx, store, room, status_code=422, error=err.detail, code=err.code, note=note
        )
    try:
        await _check(request, lambda rules: rules.call_room, f"{store.id}/{room.id}")
    except RateLimited as err:
        return _limited(request, err, store, room)
    placed = await services.place_call(
        ctx.sessionmaker, ctx.clock, ctx.registry, store_id=store.id, room_id=room.id, request=call
    )
    delivered = placed.status is CallStatus.DELIVERED
    return _render(
        request,
        "sent.html" if delivered else "unreachable.html",
        status_code=200 if delivered else 503,
        store=store,
        room=room,
        reason=REASON_LABELS[call.reason],
        note=call.note,
        at=_local_time(placed.created_at, store),
        code=placed.code,
        call_id=placed.id,
    )
