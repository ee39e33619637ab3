"""Booking services (skeleton): create without overlap, read, draw the code, cancel, redeem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.booking import model
from cloud.booking.model import BookingStatus
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.edgelink.feed import record_change
from cloud.edgelink.model import FeedEntity
from cloud.errors import Conflict, NotFound
from cloud.ids import new_booking_ref, new_order_no
from cloud.storekeys import keyring
from cloud.tenancy.model import clean_name
from cloud.tenancy.services import get_room, get_store
from cloud.tenancy.tables import Room
from cloud.uow import UnitOfWork
from protos import codes

ORDER_NO_TRIES = 8


@dataclass(frozen=True, slots=True)
class DrawnCode:
    """The code a booking's page shows now, and how long it lasts."""

    code: str
    valid_for_s: int
    refresh_in_s: int


def booking_info(booking: Booking) -> model.BookingInfo:
    """The edge's view of a booking."""
    return model.BookingInfo(
        ref=booking.ref,
        room_id=booking.room_id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        order_no=booking.order_no,
        phone_last4=booking.phone_last4,
        status=BookingStatus(booking.status),
    )


def booking_view(booking: Booking) -> dict[str, Any]:
    """The audit view of a booking (no phone number)."""
    return {
        "ref": booking.ref,
        "room_id": booking.room_id,
        "store_id": booking.store_id,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "order_no": booking.order_no,
        "status": booking.status,
    }


def _phone_aad(ref: str) -> str:
    return f"phone:{ref}"


def decrypt_phone(cipher: FieldCipher, booking: Booking) -> str:
    """The customer's phone number in clear."""
    return cipher.decrypt(booking.phone_encrypted, _phone_aad(booking.ref)).decode()


async def _new_order_no(session: AsyncSession, store_id: str) -> str:
    for _ in range(ORDER_NO_TRIES):
        candidate = new_order_no()
        clash = await session.scalar(
            select(Booking.ref).where(Booking.store_id == store_id, Booking.order_no == candidate)
        )
        if clash is None:
            return candidate
    raise Conflict("could not draw a free order number", code="order_no_exhausted")


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
) -> tuple[Booking, bytes]:
    """Create a confirmed booking unless the room is taken; return it with its per-booking key."""
    session = uow.session
    window = model.check_window(starts_at, ends_at)
    last4 = model.phone_last4(phone)
    name = clean_name(customer_name, "customer_name")
    room, store = await get_room(session, principal, room_id)
    # Serialise bookings of one room: a row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).
    await session.execute(select(Room.id).where(Room.id == room.id).with_for_update())
    rows = await session.execute(
        select(Booking.ref, Booking.starts_at, Booking.ends_at).where(
            Booking.room_id == room.id,
            Booking.status.in_([s.value for s in model.HOLDS_TIME]),
            Booking.starts_at < window.end,
            Booking.ends_at > window.start,
        )
    )
    taken = [model.Slot(ref, model.TimeRange(start, end)) for ref, start, end in rows]
    conflict = model.find_conflict(window, taken)
    if conflict is not None:
        raise model.slot_taken(conflict)
    version, store_key = await keyring.current_key(session, cipher, store.id)
    ref = new_booking_ref()
    now = clock.now()
    booking = Booking(
        ref=ref,
        tenant_id=principal.tenant_id,
        store_id=store.id,
        room_id=room.id,
        starts_at=window.start,
        ends_at=window.end,
        customer_name=name,
        phone_encrypted=cipher.encrypt(phone.strip().encode(), _phone_aad(ref)),
        phone_last4=last4,
        order_no=await _new_order_no(session, store.id),
        status=BookingStatus.CONFIRMED.value,
        key_version=version,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    await session.flush()
    await record_change(session, store.id, FeedEntity.BOOKING, ref, booking_info(booking).payload())
    record_audit(
        session,
        at=now,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="booking.create",
        entity="booking",
        entity_id=ref,
        after=booking_view(booking),
    )
    await uow.commit()
    return booking, codes.booking_key(store_key, ref)


async def get_booking(session: AsyncSession, principal: Principal, ref: str) -> Booking:
    """The caller's booking (NotFound for another tenant's)."""
    booking = await session.get(Booking, ref)
    if booking is None or booking.tenant_id != principal.tenant_id:
        raise NotFound(f"no booking {ref}", code="booking_not_found", field="ref")
    return booking


async def list_bookings(session: AsyncSession, principal: Principal, store_id: str) -> list[Booking]:
    """The bookings of one of the caller's stores, by start."""
    store = await get_store(session, principal, store_id)
    rows = await session.scalars(
        select(Booking).where(Booking.store_id == store.id).order_by(Booking.starts_at)
    )
    return list(rows)


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
    if status not in (BookingStatus.CONFIRMED, BookingStatus.REDEEMED):
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


async def _move(
    session: AsyncSession,
    clock: Clock,
    booking: Booking,
    target: BookingStatus,
    *,
    tenant_id: str,
    actor: str,
) -> None:
    before = booking_view(booking)
    booking.status = model.transition(BookingStatus(booking.status), target).value
    booking.updated_at = clock.now()
    await session.flush()
    await record_change(
        session, booking.store_id, FeedEntity.BOOKING, booking.ref, booking_info(booking).payload()
    )
    record_audit(
        session,
        at=clock.now(),
        tenant_id=tenant_id,
        actor=actor,
        action=f"booking.{target.value}",
        entity="booking",
        entity_id=booking.ref,
        before=before,
        after=booking_view(booking),
    )


async def cancel_booking(uow: UnitOfWork, clock: Clock, principal: Principal, ref: str) -> Booking:
    """Cancel a confirmed booking; its store's edges receive it as a revocation."""
    booking = await get_booking(uow.session, principal, ref)
    await _move(
        uow.session,
        clock,
        booking,
        BookingStatus.CANCELLED,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
    )
    await uow.commit()
    return booking


async def mark_redeemed(
    session: AsyncSession, clock: Clock, *, store_id: str, ref: str, actor: str
) -> Booking | None:
    """Mark a store's booking redeemed if it is confirmed (no commit); None when the cloud lacks it."""
    booking = await session.get(Booking, ref)
    if booking is None or booking.store_id != store_id:
        return None
    if model.can_transition(BookingStatus(booking.status), BookingStatus.REDEEMED):
        await _move(session, clock, booking, BookingStatus.REDEEMED, tenant_id=booking.tenant_id, actor=actor)
    return booking
