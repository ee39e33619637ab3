"""Routes of the customer's booking pages (phone-sized, plain forms, no script needed until the QR)."""

from __future__ import annotations

import base64
import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from cloud.auth.model import Principal
from cloud.booking import services as booking_services
from cloud.booking.availability import store_day
from cloud.booking.model import BookingStatus
from cloud.booking.tables import Booking
from cloud.deps import CipherDep, ClockDep, SessionDep, UowDep
from cloud.errors import DomainError, NotFound
from cloud.orders import services as order_services
from cloud.orders.model import OrderItem
from cloud.payments import services as payment_services
from cloud.payments.tables import Payment
from cloud.payments.wiring import OptionalProviderDep, ProviderDep, notify_url
from cloud.ratelimit.http import RateLimited, limit_page_hold, page_refusal
from cloud.tenancy.tables import Room, Store
from cloud.web.booking.slots import free_starts
from protos import codes

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/book", tags=["booking pages"], include_in_schema=False)

WEB_ACTOR = "customer:web"
SHOWN = (BookingStatus.CONFIRMED, BookingStatus.REDEEMED)


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _error(request: Request, err: DomainError, back: str) -> HTMLResponse:
    status = 404 if isinstance(err, NotFound) else 429 if isinstance(err, RateLimited) else 409
    response = _render(request, "error.html", status_code=status, error=err, back=back)
    if isinstance(err, RateLimited):
        response.headers["Retry-After"] = str(err.retry_after_s)
    return response


async def _store(session: SessionDep, store_id: str) -> Store:
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}", code="store_not_found", field="store_id")
    return store


def _local(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@router.get("/", response_class=HTMLResponse)
async def stores(request: Request, session: SessionDep, tenant: str | None = None) -> HTMLResponse:
    """Step 1: choose a store."""
    query = select(Store).order_by(Store.city, Store.name)
    if tenant:
        query = query.where(Store.tenant_id == tenant)
    found = list(await session.scalars(query))
    return _render(request, "stores.html", stores=found)


@router.get("/stores/{store_id}", response_class=HTMLResponse)
async def store_page(
    request: Request,
    store_id: str,
    session: SessionDep,
    clock: ClockDep,
    day: date | None = None,
    party: int = 2,
) -> HTMLResponse:
    """Step 2: choose a room for a party size and a day."""
    store = await _store(session, store_id)
    tz = ZoneInfo(store.timezone)
    day = day or clock.now().astimezone(tz).date()
    rooms = list(await session.scalars(select(Room).where(Room.store_id == store.id).order_by(Room.name)))
    fitting = [r for r in rooms if r.capacity_min <= party <= (r.capacity_max or party)]
    return _render(request, "store.html", store=store, rooms=fitting, day=day, party=party)


@router.get("/rooms/{room_id}", response_class=HTMLResponse)
async def room_page(
    request: Request,
    room_id: str,
    session: SessionDep,
    clock: ClockDep,
    day: date | None = None,
    party: int = 2,
    duration: int | None = None,
) -> HTMLResponse:
    """Step 3: choose a slot (and say who you are)."""
    room = await session.get(Room, room_id)
    if room is None:
        return _error(request, NotFound("no such room", code="room_not_found"), "/book/")
    store = await _store(session, room.store_id)
    principal = Principal(store.tenant_id, WEB_ACTOR)
    ctx = await booking_services.room_context(session, principal, room.id)
    tz = ctx.tz
    day = day or clock.now().astimezone(tz).date()
    rules = ctx.rules
    # a stay the rules accept: the minimum plus whole steps (an odd duration rounds up)
    extra = max((duration or rules.min_duration_min) - rules.min_duration_min, 0)
    length = rules.min_duration_min + -(-extra // rules.step_min) * rules.step_min
    timeline = await store_day(session, clock, principal, store.id, day)
    segments = next((r.segments for r in timeline.rooms if r.room.id == room.id), [])
    starts = free_starts(
        segments,
        duration_min=length,
        step_min=rules.step_min,
        not_before=clock.now(),
        not_after=clock.now() + timedelta(days=rules.booking_window_days),
        cleaning_gap_min=rules.cleaning_gap_min,
        tz=tz,
    )
    slots = [
        {
            "value": f"{s.isoformat()}|{(s + timedelta(minutes=length)).isoformat()}",
            "label": f"{s.astimezone(tz):%H:%M}–{(s + timedelta(minutes=length)).astimezone(tz):%H:%M}",
        }
        for s in starts
    ]
    durations = [rules.min_duration_min + i * rules.step_min for i in range(0, 9)]
    await session.commit()
    return _render(
        request,
        "room.html",
        store=store,
        room=room,
        day=day,
        party=party,
        duration=length,
        durations=durations,
        slots=slots,
    )


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form's fields (the pages post plain forms; no multipart parser needed)."""
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


@router.post("/rooms/{room_id}/hold")
async def hold(
    request: Request,
    room_id: str,
    uow: UowDep,
    clock: ClockDep,
    cipher: CipherDep,
    provider: ProviderDep,
) -> Response:
    """Step 4: hold the slot and go to the provider's payment page."""
    form = await _form(request)
    slot, name, phone = form.get("slot", ""), form.get("name", ""), form.get("phone", "")
    party = int(form["party"]) if form.get("party", "").isdigit() else 1
    limited = await page_refusal(limit_page_hold, request)
    if limited is not None:
        return _error(request, limited, f"/book/rooms/{room_id}?party={party}")
    session = uow.session
    room = await session.get(Room, room_id)
    if room is None:
        return _error(request, NotFound("no such room", code="room_not_found"), "/book/")
    store = await _store(session, room.store_id)
    back = f"/book/rooms/{room_id}?party={party}"
    try:
        start_text, _, end_text = slot.partition("|")
        starts_at, ends_at = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except ValueError:
        return _error(request, DomainError("choose a slot", code="invalid_slot"), back)
    principal = Principal(store.tenant_id, WEB_ACTOR)
    try:
        placed = await order_services.place_order(
            uow,
            clock,
            cipher,
            principal,
            items=[OrderItem(room.id, starts_at, ends_at, party)],
            customer_name=name,
            phone=phone,
        )
        page = str(request.base_url).rstrip("/") + f"/book/o/{placed.token}"
        payment = await payment_services.start_deposit(
            uow, clock, provider, placed.order, notify_url=notify_url(request), return_url=page
        )
    except DomainError as err:
        return _error(request, err, back)
    return RedirectResponse(payment.pay_url or page, status_code=303)


def _code_data(booking: Booking, store: Store, key: bytes) -> dict[str, Any]:
    return {
        "key": base64.b64encode(key).decode(),
        "store": store.id,
        "version": booking.key_version,
        "ref": booking.ref,
        "room": booking.room_id,
        "start_min": int(booking.starts_at.timestamp()) // 60,
        "end_min": int(booking.ends_at.timestamp()) // 60,
    }


@router.get("/o/{token}", response_class=HTMLResponse)
async def order_page(
    request: Request, token: str, session: SessionDep, clock: ClockDep, cipher: CipherDep
) -> HTMLResponse:
    """Step 5: the booking page (the rotating QR code with the order number; cancel, reschedule)."""
    try:
        order = await order_services.order_by_token(session, token)
    except NotFound as err:
        return _error(request, err, "/book/")
    bookings = await order_services.order_bookings(session, order.id)
    now = clock.now()
    shown: list[dict[str, Any]] = []
    for booking in bookings:
        store = await _store(session, booking.store_id)
        room = await session.get(Room, booking.room_id)
        tz = ZoneInfo(store.timezone)
        status = BookingStatus(booking.status)
        code = None
        if status in SHOWN:
            key = await booking_services.booking_key(session, cipher, booking)
            code = _code_data(booking, store, key)
        shown.append(
            {
                "b": booking,
                "store": store,
                "room": room,
                "starts": _local(booking.starts_at, tz),
                "ends": _local(booking.ends_at, tz),
                "day": booking.starts_at.astimezone(tz).date().isoformat(),
                "time": booking.starts_at.astimezone(tz).strftime("%H:%M"),
                "code": code,
                "refund": booking_services.refund_preview(booking, now) if status in SHOWN else None,
                "balance": booking.price_total - booking.amount_paid,
            }
        )
    statuses = set(await session.scalars(select(Payment.status).where(Payment.order_id == order.id)))
    waiting = any(b.status == BookingStatus.HELD.value for b in bookings)
    await session.commit()
    return _render(
        request,
        "order.html",
        order=order,
        token=token,
        bookings=shown,
        waiting=waiting,
        paid="paid" in statuses,
        started=bool(statuses),
        rotate_s=codes.ROTATE_SECONDS,
    )


async def _order_booking(uow: UowDep, token: str, ref: str) -> tuple[Principal, str]:
    order = await order_services.order_by_token(uow.session, token)
    link = await order_services.order_of_booking(uow.session, ref)
    if link is None or link.order_id != order.id:
        raise NotFound("no such booking in the order", code="booking_not_found", field="ref")
    await uow.commit()
    return order_services.customer_principal(order), ref


@router.post("/o/{token}/pay")
async def pay_order(
    request: Request, token: str, uow: UowDep, clock: ClockDep, provider: ProviderDep
) -> Response:
    """Pay the order's deposits (again, after a failed try)."""
    page = f"/book/o/{token}"
    try:
        order = await order_services.order_by_token(uow.session, token)
        payment = await payment_services.start_deposit(
            uow,
            clock,
            provider,
            order,
            notify_url=notify_url(request),
            return_url=str(request.base_url).rstrip("/") + page,
        )
    except DomainError as err:
        return _error(request, err, page)
    return RedirectResponse(payment.pay_url or page, status_code=303)


@router.post("/o/{token}/b/{ref}/cancel")
async def cancel(
    request: Request, token: str, ref: str, uow: UowDep, clock: ClockDep, provider: OptionalProviderDep
) -> Response:
    """Cancel one booking of the order; the refund due by its terms goes back through the provider."""
    page = f"/book/o/{token}"
    try:
        principal, ref = await _order_booking(uow, token, ref)
        await payment_services.cancel_and_refund(
            uow, clock, provider, principal, ref, notify_url=notify_url(request)
        )
    except DomainError as err:
        return _error(request, err, page)
    return RedirectResponse(page, status_code=303)


@router.post("/o/{token}/b/{ref}/reschedule")
async def reschedule(
    request: Request,
    token: str,
    ref: str,
    uow: UowDep,
    clock: ClockDep,
    provider: OptionalProviderDep,
) -> Response:
    """Move one booking of the order to another start (same length, same room) if that time is free.

    The move is priced again as the API's reschedule does (the same service): a dearer slot sends
    the customer to the provider to pay the difference, a cheaper one refunds it.
    """
    page = f"/book/o/{token}"
    form = await _form(request)
    try:
        day, start = date.fromisoformat(form.get("day", "")), time.fromisoformat(form.get("start", ""))
    except ValueError:
        return _error(request, DomainError("give a day and a start time", code="invalid_time"), page)
    try:
        principal, ref = await _order_booking(uow, token, ref)
        booking = await uow.session.get(Booking, ref)
        assert booking is not None
        store = await _store(uow.session, booking.store_id)
        length = booking.ends_at - booking.starts_at
        new_start = datetime.combine(day, start, tzinfo=ZoneInfo(store.timezone))
        await uow.commit()
        moved = await payment_services.reschedule_and_settle(
            uow,
            clock,
            provider,
            principal,
            ref,
            starts_at=new_start,
            ends_at=new_start + length,
            notify_url=notify_url(request),
            return_url=str(request.base_url).rstrip("/") + page,
        )
    except DomainError as err:
        await uow.rollback()
        return _error(request, err, page)
    if moved.payment is not None and moved.payment.pay_url:
        return RedirectResponse(moved.payment.pay_url, status_code=303)
    return RedirectResponse(page, status_code=303)
