"""Booking use cases: holds and their confirmation, operator bookings, cancel, reschedule, redeem, codes.

A customer's booking starts as a hold (its time taken, a deposit due, a deadline); a payment
confirms it (`confirm_payment`, idempotent per payment reference). An operator's booking is born
confirmed. Every change of a room's time goes through `occupancy.claim`, so no two live bookings
of a room ever overlap (cleaning gap included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Executable, Select, Table, and_, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from cloud.audit.tables import AuditEntry
from cloud.auth.model import Principal, in_reach
from cloud.booking import lifecycle, model, occupancy
from cloud.booking.model import BookingStatus, Refund, TimeRange, Venue
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.errors import Conflict, Invalid, NotFound
from cloud.ids import new_booking_ref, new_order_no
from cloud.pricing import model as pricing
from cloud.pricing.model import Calendar, CalendarDayKind, Quote, share
from cloud.pricing.services import quote_room, room_plan
from cloud.pricing.tables import CalendarDay
from cloud.rules import levels
from cloud.rules.model import BookingRules, CancellationTier, parse_tiers, resolve
from cloud.storekeys import keyring
from cloud.storekeys.tables import StoreKey
from cloud.tenancy.model import clean_name, parse_closed_dates, parse_opening_hours
from cloud.tenancy.services import get_store
from cloud.tenancy.tables import Room, Store
from cloud.uow import UnitOfWork
from protos import codes

# Re-exported for callers of the skeleton.
booking_info = lifecycle.booking_info
booking_view = lifecycle.booking_view

ORDER_NO_TRIES = 8
MAX_REF_LENGTH = 100
S = BookingStatus


class Source:
    """Where a booking came from (an operator's booking skips the start grid and may start just now)."""

    ADMIN = "admin"
    WEB = "web"


@dataclass(frozen=True, slots=True)
class DrawnCode:
    """The code a booking's page shows now, and how long it lasts."""

    code: str
    valid_for_s: int
    refresh_in_s: int


@dataclass(frozen=True, slots=True)
class RoomContext:
    """A room, its store (and its current key version), the rules in force and what they need to know."""

    room: Room
    store: Store
    key_version: int
    rules: BookingRules
    venue: Venue
    calendar: Calendar | None = None  # read with the room only when asked (`around`)

    @property
    def tz(self) -> ZoneInfo:
        """The store's time zone."""
        return self.venue.tz


def venue_of(room: Room, store: Store) -> Venue:
    """The rules' view of a room and its store."""
    return Venue(
        tz=ZoneInfo(store.timezone),
        hours=parse_opening_hours(store.opening_hours),
        closed_dates=parse_closed_dates(store.closed_dates),
        capacity_min=room.capacity_min,
        capacity_max=room.capacity_max,
    )


def _room_query(lock: bool, calendar: bool = False) -> Select[Any]:
    key_version = select(func.max(StoreKey.version)).where(StoreKey.store_id == Store.id).scalar_subquery()
    settings = levels.settings_columns(Store.tenant_id, Store.id, Room.room_type)
    query = (
        select(Room, Store, key_version, *settings)
        .join(Store, Room.store_id == Store.id)
        .where(Room.id == bindparam("room_id"))
    )
    if calendar:  # one row per listed day of the tenant's calendar around the window (at least one)
        query = query.add_columns(CalendarDay.day, CalendarDay.kind).outerjoin(
            CalendarDay,
            and_(
                CalendarDay.tenant_id == Store.tenant_id,
                CalendarDay.day >= bindparam("first", type_=Date()),
                CalendarDay.day <= bindparam("last", type_=Date()),
            ),
        )
    return query.with_for_update(of=Room) if lock else query  # SQLite renders no FOR UPDATE


# Built once: statement construction costs more than its execution on this hot path.
_ROOM = _room_query(lock=False)
_ROOM_LOCKED = _room_query(lock=True)
_ROOM_LOCKED_CALENDAR = _room_query(lock=True, calendar=True)


def _calendar_span(window: TimeRange) -> tuple[date, date]:
    """The days of calendar a quote of window needs (as pricing's load_calendar: a day either side)."""
    return window.start.date() - timedelta(days=1), window.end.date() + timedelta(days=1)


async def room_context(
    session: AsyncSession,
    principal: Principal,
    room_id: str,
    *,
    lock: bool = False,
    around: TimeRange | None = None,
) -> RoomContext:
    """The caller's room with its store, key version and effective rules (NotFound for another tenant's).

    With `lock`, the room's row stays locked until commit (PostgreSQL; SQLite serialises writers).
    One query reads the room, its store, its key version and the settings of every level; with
    `around` (and `lock`), the tenant's pricing calendar for a quote of that window too.
    """
    params: dict[str, Any] = {"room_id": room_id}
    if around is not None and lock:
        query = _ROOM_LOCKED_CALENDAR
        params["first"], params["last"] = _calendar_span(around)
    else:
        query = _ROOM_LOCKED if lock else _ROOM
    rows = (await session.execute(query, params)).all()
    row = rows[0] if rows else None
    if row is None or not in_reach(
        principal, row[1].tenant_id, store_id=row[1].id, region_id=row[1].region_id
    ):
        raise NotFound(f"no room {room_id}", code="room_not_found", field="room_id")
    room, store, version, chain, bounds, type_values, store_values = row[:7]
    if version is None:
        raise NotFound("the store has no key", code="store_key_not_found")
    layers, _ = levels.layers_from(chain, bounds, type_values, store_values)
    calendar = _calendar_of([(r[7], r[8]) for r in rows]) if query is _ROOM_LOCKED_CALENDAR else None
    return RoomContext(room, store, int(version), resolve(layers), venue_of(room, store), calendar)


def _calendar_of(days: list[tuple[date | None, str | None]]) -> Calendar:
    holidays = frozenset(
        day for day, kind in days if day is not None and kind == CalendarDayKind.HOLIDAY.value
    )
    workdays = frozenset(
        day for day, kind in days if day is not None and kind != CalendarDayKind.HOLIDAY.value
    )
    return Calendar(holidays, workdays)


def _phone_aad(ref: str) -> str:
    return f"phone:{ref}"


def decrypt_phone(cipher: FieldCipher, booking: Booking) -> str:
    """The customer's phone number in clear."""
    return cipher.decrypt(booking.phone_encrypted, _phone_aad(booking.ref)).decode()


def _reference(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_REF_LENGTH:
        raise Invalid(
            f"{field} must be 1..{MAX_REF_LENGTH} characters", code="invalid_reference", field=field
        )
    return value


def terms_tiers(booking: Booking, fallback: BookingRules | None = None) -> tuple[CancellationTier, ...]:
    """The cancellation tiers the booking was made under."""
    terms = booking.terms or {}
    if "cancellation_tiers" in terms:
        return parse_tiers(terms["cancellation_tiers"], "cancellation_tiers")
    return fallback.cancellation_tiers if fallback is not None else ()


class _OrderNoTaken(Exception):
    """The random order number drawn is already used in the store (rare: draw again)."""


def _is_order_no_clash(err: IntegrityError) -> bool:
    return "order_no" in str(err.orig)


async def quote_slot(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    *,
    room_id: str,
    starts_at: datetime,
    ends_at: datetime,
    party_size: int | None = None,
) -> tuple[Quote, int, RoomContext]:
    """The price of a slot a customer could hold (every rule checked), and the deposit it asks for."""
    window = model.check_window(starts_at, ends_at)
    ctx = await room_context(session, principal, room_id)
    model.check_request(
        window, now=clock.now(), rules=ctx.rules, venue=ctx.venue, party_size=party_size, on_grid=True
    )
    quote = await quote_room(session, ctx.store.tenant_id, ctx.room, ctx.tz, window.start, window.end)
    return quote, share(quote.total, ctx.rules.deposit_pct), ctx


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A request for a room's time: a customer's hold, or an operator's booking (source "admin")."""

    room_id: str
    starts_at: datetime
    ends_at: datetime
    party_size: int | None
    customer_name: str
    phone: str
    source: str


# Every hold writes with Core statements built once, not an ORM flush (whose bookkeeping costs more
# than the statements): the booking row, and its audit row (on PostgreSQL in the same statement).
_BOOKINGS: Table = Booking.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_AUDIT_VALUES = {
    column: bindparam(f"audit_{column}", type_=_AUDIT.c[column].type)
    for column in ("at", "tenant_id", "actor", "action", "entity", "entity_id", "before", "after")
}
_INSERT_BOOKING = insert(_BOOKINGS)
_INSERT_AUDIT = insert(_AUDIT).values(_AUDIT_VALUES)


def _booking_and_audit_query() -> Executable:
    """One statement (and round trip) that inserts the booking, then its audit row (PostgreSQL)."""
    written = (
        insert(_BOOKINGS)
        .values({c.name: bindparam(c.name, type_=c.type) for c in _BOOKINGS.columns})
        .returning(_BOOKINGS.c.ref)
        .cte("written")
    )
    audit_row = {**_AUDIT_VALUES, "entity_id": written.c.ref}  # only once the booking is in
    return insert(_AUDIT).from_select(list(audit_row), select(*audit_row.values())).add_cte(written)


_INSERT_BOTH = _booking_and_audit_query()


async def _insert_with_audit(session: AsyncSession, values: dict[str, Any], audit: dict[str, Any]) -> None:
    """Insert a new booking row and its audit row (one statement on PostgreSQL, two on SQLite)."""
    conn = await session.connection()  # Core statements: the ORM's execution layer adds nothing
    if conn.dialect.name == "postgresql":
        await conn.execute(_INSERT_BOTH, {**values, **audit})
        return
    await conn.execute(_INSERT_BOOKING, values)
    await conn.execute(_INSERT_AUDIT, audit)


async def _new_booking(
    uow: UnitOfWork, clock: Clock, cipher: FieldCipher, principal: Principal, request: NewBooking
) -> Booking:
    """Make a booking, drawing another order number in the rare case the first is taken."""
    for _ in range(ORDER_NO_TRIES):
        try:
            return await _new_booking_once(uow, clock, cipher, principal, request)
        except _OrderNoTaken:
            await uow.rollback()
    raise Conflict("could not draw a free order number", code="order_no_exhausted")


async def _new_booking_once(
    uow: UnitOfWork, clock: Clock, cipher: FieldCipher, principal: Principal, request: NewBooking
) -> Booking:
    session = uow.session
    source, party_size, phone = request.source, request.party_size, request.phone
    admin = source == Source.ADMIN
    window = model.check_window(request.starts_at, request.ends_at)
    last4 = model.phone_last4(phone)
    name = clean_name(request.customer_name, "customer_name")
    now = clock.now()
    ctx = await room_context(session, principal, request.room_id, lock=True, around=window)
    model.check_request(
        window,
        now=now,
        rules=ctx.rules,
        venue=ctx.venue,
        party_size=party_size,
        on_grid=not admin,
        backdate=model.ADMIN_BACKDATE if admin else timedelta(0),
    )
    assert ctx.calendar is not None  # asked for with `around`
    quote = pricing.quote(room_plan(ctx.room), ctx.calendar, ctx.tz, window.start, window.end)
    taken = model.occupied(window, ctx.rules.cleaning_gap_min)
    await occupancy.claim(session, ctx.room.id, taken, now, actor=principal.actor, locked=True)
    ref = new_booking_ref()
    values: dict[str, Any] = {
        "ref": ref,
        "tenant_id": ctx.store.tenant_id,
        "store_id": ctx.store.id,
        "room_id": ctx.room.id,
        "starts_at": window.start,
        "ends_at": window.end,
        "occupied_until": taken.end,
        "customer_name": name,
        "phone_encrypted": cipher.encrypt(phone.strip().encode(), _phone_aad(ref)),
        "phone_last4": last4,
        "party_size": party_size,
        "order_no": new_order_no(),
        "status": S.CONFIRMED.value if admin else S.HELD.value,
        "source": source,
        "key_version": ctx.key_version,
        "hold_expires_at": None if admin else model.hold_deadline(now, ctx.rules),
        "price_total": quote.total,
        "deposit_due": share(quote.total, ctx.rules.deposit_pct),
        "amount_paid": 0,
        "payment_ref": None,
        "refund_amount": None,
        "refund_ref": None,
        "quote": quote.as_json(),
        "terms": ctx.rules.terms(),
        "created_at": now,
        "updated_at": now,
        "confirmed_at": now if admin else None,
        "cancelled_at": None,
    }
    booking = Booking(**values)
    audit = {
        "audit_at": now,
        "audit_tenant_id": booking.tenant_id,
        "audit_actor": principal.actor,
        "audit_action": "booking.create" if admin else "booking.hold",
        "audit_entity": "booking",
        "audit_entity_id": ref,
        "audit_before": None,
        "audit_after": booking_view(booking),
    }
    try:
        async with occupancy.overlap_guard(session, ctx.room.id, taken, now):
            await _insert_with_audit(session, values, audit)
    except IntegrityError as err:
        if _is_order_no_clash(err):
            raise _OrderNoTaken from err
        raise
    # The row is written: the object joins the session as loaded from it (no flush, no re-read).
    make_transient_to_detached(booking)
    session.add(booking)
    await lifecycle.publish(session, booking)
    await uow.commit()
    return booking


async def hold(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    principal: Principal,
    *,
    room_id: str,
    starts_at: datetime,
    ends_at: datetime,
    party_size: int,
    customer_name: str,
    phone: str,
    source: str = Source.WEB,
) -> Booking:
    """Hold a room's time for a customer until paid (deposit_due, hold_expires_at); edges never see it.

    The start must sit on the step grid of the store's local day (e.g. :00 and :30).
    """
    request = NewBooking(room_id, starts_at, ends_at, party_size, customer_name, phone, source)
    return await _new_booking(uow, clock, cipher, principal, request)


async def create_booking(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    principal: Principal,
    *,
    room_id: str,
    starts_at: datetime,
    ends_at: datetime,
    customer_name: str,
    phone: str,
    party_size: int | None = None,
) -> tuple[Booking, bytes]:
    """An operator's booking: confirmed at once (paid at the desk); return it with its per-booking key.

    It keeps every rule (window, opening hours, minimum duration and step, party size) except the
    start grid, and may start up to ADMIN_BACKDATE ago: a walk-in booked "from now" is fine.
    """
    request = NewBooking(room_id, starts_at, ends_at, party_size, customer_name, phone, Source.ADMIN)
    booking = await _new_booking(uow, clock, cipher, principal, request)
    return booking, await booking_key(uow.session, cipher, booking)


async def _locked(session: AsyncSession, ref: str, tenant_id: str | None) -> Booking:
    """The booking row, locked until commit and re-read (NotFound for another tenant's)."""
    booking = await session.scalar(
        select(Booking).where(Booking.ref == ref).with_for_update().execution_options(populate_existing=True)
    )
    if booking is None or (tenant_id is not None and booking.tenant_id != tenant_id):
        raise NotFound(f"no booking {ref}", code="booking_not_found", field="ref")
    return booking


async def _expire_and_refuse(uow: UnitOfWork, booking: Booking, now: datetime, actor: str) -> NoReturn:
    """Record that the hold lapsed, then refuse (409 hold_expired)."""
    await lifecycle.expire(uow.session, booking, now=now, actor=actor)
    await uow.commit()
    raise _hold_expired(booking)


def _hold_expired(booking: Booking) -> model.HoldExpired:
    error = model.HoldExpired("the hold's payment deadline passed", field="ref")
    if booking.hold_expires_at is not None:
        error.extra = {"expired_at": booking.hold_expires_at.isoformat()}
    return error


async def confirm_payment(
    uow: UnitOfWork,
    clock: Clock,
    *,
    ref: str,
    payment_ref: str,
    amount_paid: int | None = None,
    tenant_id: str | None = None,
    actor: str = "system:payments",
) -> Booking:
    """Confirm a hold with a payment; idempotent: the same payment_ref again changes nothing.

    `amount_paid` defaults to the deposit due and may not be less. A hold past its deadline is
    expired and refused (409 hold_expired); one confirmed by another payment gives 409
    already_confirmed (the caller refunds that payment).
    """
    payment_ref = _reference(payment_ref, "payment_ref")
    session = uow.session
    now = clock.now()
    booking = await _locked(session, ref, tenant_id)
    status = BookingStatus(booking.status)
    if booking.payment_ref == payment_ref and status is not S.HELD:
        await uow.commit()  # a repeat: nothing changes (commit ends the read, keeps the row loaded)
        return booking
    if status is S.EXPIRED:
        raise _hold_expired(booking)
    if status is S.HELD:
        if not model.is_live_hold(status, booking.hold_expires_at, now):
            await _expire_and_refuse(uow, booking, now, actor)
        amount = booking.deposit_due if amount_paid is None else amount_paid
        if amount < booking.deposit_due or amount > max(booking.price_total, booking.deposit_due):
            raise Invalid(
                f"the payment must cover the deposit ({booking.deposit_due}) and not exceed the price",
                code="wrong_amount",
                field="amount_paid",
            )
        await lifecycle.confirm(
            session, booking, now=now, actor=actor, payment_ref=payment_ref, amount_paid=amount
        )
        await uow.commit()
        return booking
    if booking.payment_ref is not None and status in (S.CONFIRMED, S.REDEEMED, S.COMPLETED):
        raise model.AlreadyConfirmed("the booking was confirmed by another payment", field="payment_ref")
    model.transition(status, S.CONFIRMED)  # raises: the table allows no confirmation from here
    raise AssertionError("unreachable")


async def confirm(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    ref: str,
    *,
    payment_ref: str,
    amount_paid: int | None = None,
) -> Booking:
    """Confirm one of the caller's holds (a payment taken outside the provider, e.g. at the desk)."""
    return await confirm_payment(
        uow,
        clock,
        ref=ref,
        payment_ref=payment_ref,
        amount_paid=amount_paid,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
    )


def refund_preview(booking: Booking, now: datetime) -> Refund:
    """What cancelling now would refund, by the booking's terms (a hold refunds nothing)."""
    if BookingStatus(booking.status) is not S.CONFIRMED:
        return Refund(pct=0, amount=0, minutes_before=int((booking.starts_at - now).total_seconds() // 60))
    return model.refund_for(booking.amount_paid, terms_tiers(booking), booking.starts_at, now)


async def cancel_booking(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    ref: str,
    *,
    on_cancel: Callable[[Booking], Awaitable[None]] | None = None,
) -> Booking:
    """Cancel a confirmed booking (refund by its tiers, recorded) or release a hold; edges revoke it.

    `on_cancel` runs inside the cancelling transaction (the payments record the refund owed there,
    so a cancellation never commits without it).
    """
    session = uow.session
    now = clock.now()
    booking = await _locked(session, ref, principal.tenant_id)
    status = BookingStatus(booking.status)
    if status is S.HELD and not model.is_live_hold(status, booking.hold_expires_at, now):
        await lifecycle.expire(session, booking, now=now, actor=principal.actor)  # it lapsed already
    else:
        refund = refund_preview(booking, now)
        await lifecycle.cancel(session, booking, now=now, actor=principal.actor, refund=refund)
        if on_cancel is not None:
            await on_cancel(booking)
    await uow.commit()
    return booking


async def record_refund(
    uow: UnitOfWork, clock: Clock, *, ref: str, refund_ref: str, tenant_id: str | None, actor: str
) -> Booking:
    """The refund due on a cancelled booking was paid out (idempotent per refund_ref)."""
    refund_ref = _reference(refund_ref, "refund_ref")
    session = uow.session
    booking = await _locked(session, ref, tenant_id)
    if booking.status == S.REFUNDED.value and booking.refund_ref == refund_ref:
        await uow.commit()  # a repeat: nothing changes
        return booking
    if booking.status == S.CANCELLED.value and not booking.refund_amount:
        raise Conflict("nothing is due to be refunded", code="nothing_to_refund", field="ref")
    await lifecycle.refund(session, booking, now=clock.now(), actor=actor, refund_ref=refund_ref)
    await uow.commit()
    return booking


async def reschedule(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    ref: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    room_id: str | None = None,
) -> Booking:
    """Move a held or confirmed booking to a new time (and room of the same store), keeping its ref.

    The new slot must meet the rules and be free (the booking's own time excepted); otherwise 409
    slot_taken and the booking stays as it was. A confirmed booking moves until its terms' notice
    before its current start; the price is quoted again (the balance is the payments' business).
    """
    session = uow.session
    window = model.check_window(starts_at, ends_at)
    now = clock.now()
    booking = await _locked(session, ref, principal.tenant_id)
    status = BookingStatus(booking.status)
    if status is S.HELD and not model.is_live_hold(status, booking.hold_expires_at, now):
        await _expire_and_refuse(uow, booking, now, principal.actor)
    notice = int((booking.terms or {}).get("reschedule_notice_min", 0))
    model.check_reschedule(status, booking.starts_at, notice, now)
    ctx = await room_context(session, principal, room_id or booking.room_id, lock=True)
    if ctx.store.id != booking.store_id:
        raise Invalid(
            "a booking moves within its store (cancel and book again elsewhere)",
            code="other_store",
            field="room_id",
        )
    admin = booking.source == Source.ADMIN
    model.check_request(
        window,
        now=now,
        rules=ctx.rules,
        venue=ctx.venue,
        party_size=booking.party_size,
        on_grid=not admin,
        backdate=model.ADMIN_BACKDATE if admin else timedelta(0),
    )
    taken = model.occupied(window, ctx.rules.cleaning_gap_min)
    await occupancy.claim(
        session, ctx.room.id, taken, now, actor=principal.actor, exclude_ref=booking.ref, locked=True
    )
    quote = await quote_room(session, ctx.store.tenant_id, ctx.room, ctx.tz, window.start, window.end)
    before = booking_view(booking)
    booking.room_id = ctx.room.id
    booking.starts_at, booking.ends_at, booking.occupied_until = window.start, window.end, taken.end
    booking.price_total = quote.total
    booking.quote = quote.as_json()
    if status is S.HELD:
        deposit_pct = int((booking.terms or {}).get("deposit_pct", ctx.rules.deposit_pct))
        booking.deposit_due = share(quote.total, deposit_pct)
    booking.updated_at = now
    async with occupancy.overlap_guard(session, ctx.room.id, taken, now, exclude_ref=booking.ref):
        await session.flush()
    await lifecycle.publish(session, booking)
    lifecycle.audit(
        session, booking, at=now, actor=principal.actor, action="booking.reschedule", before=before
    )
    await uow.commit()
    return booking


async def complete_booking(uow: UnitOfWork, clock: Clock, principal: Principal, ref: str) -> Booking:
    """Close a redeemed booking (its session is over)."""
    booking = await _locked(uow.session, ref, principal.tenant_id)
    await lifecycle.complete(uow.session, booking, now=clock.now(), actor=principal.actor)
    await uow.commit()
    return booking


async def get_booking(session: AsyncSession, principal: Principal, ref: str) -> Booking:
    """The caller's booking (NotFound for another tenant's)."""
    booking = await session.get(Booking, ref)
    if booking is None or not in_reach(
        principal, booking.tenant_id, store_id=booking.store_id, booking_ref=booking.ref
    ):
        raise NotFound(f"no booking {ref}", code="booking_not_found", field="ref")
    return booking


async def list_bookings(
    session: AsyncSession, principal: Principal, store_id: str, status: BookingStatus | None = None
) -> list[Booking]:
    """The bookings of one of the caller's stores (optionally of one status), by start."""
    store = await get_store(session, principal, store_id)
    query = select(Booking).where(Booking.store_id == store.id)
    if status is not None:
        query = query.where(Booking.status == status.value)
    return list(await session.scalars(query.order_by(Booking.starts_at, Booking.ref)))


async def booking_key(session: AsyncSession, cipher: FieldCipher, booking: Booking) -> bytes:
    """The per-booking key the customer's page draws codes with."""
    store_key = await keyring.load_key(session, cipher, booking.store_id, booking.key_version)
    return codes.booking_key(store_key, booking.ref)


async def draw_code(
    session: AsyncSession, clock: Clock, cipher: FieldCipher, principal: Principal, ref: str
) -> DrawnCode:
    """The code the booking's page would draw now (what the customer shows at the door)."""
    booking = await get_booking(session, principal, ref)
    status = BookingStatus(booking.status)
    if status not in (S.CONFIRMED, S.REDEEMED):
        raise Conflict(f"the booking is {status.value}", code="booking_not_active", field="ref")
    store_key = await keyring.load_key(session, cipher, booking.store_id, booking.key_version)
    now = clock.now().timestamp()
    code = codes.code_at(
        store_key,
        booking.key_version,
        booking.store_id,
        booking.ref,
        booking.room_id,
        int(booking.starts_at.timestamp()),
        int(booking.ends_at.timestamp()),
        now,
    )
    valid_for, refresh_in = model.code_validity(now)
    return DrawnCode(code=code, valid_for_s=valid_for, refresh_in_s=refresh_in)


async def mark_redeemed(
    session: AsyncSession, clock: Clock, *, store_id: str, ref: str, actor: str
) -> Booking | None:
    """Mark a store's booking redeemed if it is confirmed (no commit); None when the cloud lacks it."""
    booking = await session.get(Booking, ref)
    if booking is None or booking.store_id != store_id:
        return None
    if model.can_transition(BookingStatus(booking.status), S.REDEEMED):
        await lifecycle.redeem(session, booking, now=clock.now(), actor=actor)
    return booking
