"""HTTP routes of bookings: operator bookings, customer holds, confirm, cancel, reschedule, quotes, codes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cloud.booking import services
from cloud.booking.model import BookingStatus
from cloud.booking.schemas import (
    BookingCreate,
    BookingOut,
    CodeOut,
    ConfirmIn,
    HoldCreate,
    QuoteIn,
    QuoteOut,
    RefundIn,
    RefundPreviewOut,
    RescheduleIn,
)
from cloud.deps import (
    BookingCancel,
    BookingRead,
    BookingsRead,
    BookingsWrite,
    BookingWrite,
    CipherDep,
    ClockDep,
    SessionDep,
    UowDep,
)
from cloud.payments import services as payment_services
from cloud.payments.schemas import RescheduleOut, reschedule_out
from cloud.payments.wiring import OptionalProviderDep, notify_url
from cloud.ratelimit.http import ApiHoldRateLimit

router = APIRouter(prefix="/api/v1", tags=["booking"])


@router.post("/bookings", status_code=201)
async def create_booking(
    body: BookingCreate, principal: BookingsWrite, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> BookingOut:
    """An operator's booking, confirmed at once (409 slot_taken when the room's time is taken)."""
    booking, key = await services.create_booking(
        uow,
        clock,
        cipher,
        principal,
        room_id=body.room_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        customer_name=body.customer_name,
        phone=body.phone,
        party_size=body.party_size,
    )
    return BookingOut.of(booking, key)


@router.post("/holds", status_code=201)
async def create_hold(
    body: HoldCreate,
    principal: BookingsWrite,
    uow: UowDep,
    clock: ClockDep,
    cipher: CipherDep,
    _limit: ApiHoldRateLimit,
) -> BookingOut:
    """Hold a room's time until paid: the answer names the deposit due and the deadline."""
    booking = await services.hold(
        uow,
        clock,
        cipher,
        principal,
        room_id=body.room_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        party_size=body.party_size,
        customer_name=body.customer_name,
        phone=body.phone,
    )
    return BookingOut.of(booking)


@router.post("/quotes")
async def quote(body: QuoteIn, principal: BookingsRead, session: SessionDep, clock: ClockDep) -> QuoteOut:
    """The price of a slot a customer could hold, with its breakdown and deposit (every rule checked)."""
    priced, deposit, _ = await services.quote_slot(
        session,
        clock,
        principal,
        room_id=body.room_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        party_size=body.party_size,
    )
    return QuoteOut.of(priced, deposit)


@router.get("/bookings")
async def list_bookings(
    store_id: str, principal: BookingsRead, session: SessionDep, status: BookingStatus | None = None
) -> list[BookingOut]:
    """The bookings of a store (holds included), optionally of one status."""
    return [BookingOut.of(b) for b in await services.list_bookings(session, principal, store_id, status)]


@router.get("/bookings/{ref}")
async def get_booking(ref: str, principal: BookingRead, session: SessionDep, cipher: CipherDep) -> BookingOut:
    """One booking, with its per-booking key once confirmed."""
    booking = await services.get_booking(session, principal, ref)
    shown = BookingStatus(booking.status) in (BookingStatus.CONFIRMED, BookingStatus.REDEEMED)
    return BookingOut.of(booking, await services.booking_key(session, cipher, booking) if shown else None)


@router.get("/bookings/{ref}/code")
async def get_code(
    ref: str, principal: BookingRead, session: SessionDep, clock: ClockDep, cipher: CipherDep
) -> CodeOut:
    """The code the customer's page would draw now."""
    drawn = await services.draw_code(session, clock, cipher, principal, ref)
    return CodeOut(code=drawn.code, valid_for_s=drawn.valid_for_s, refresh_in_s=drawn.refresh_in_s)


@router.post("/bookings/{ref}/confirm")
async def confirm_booking(
    ref: str, body: ConfirmIn, principal: BookingWrite, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> BookingOut:
    """Confirm a hold with a payment (the same payment_ref again is a no-op; 409 hold_expired if late)."""
    booking = await services.confirm(
        uow, clock, principal, ref, payment_ref=body.payment_ref, amount_paid=body.amount_paid
    )
    return BookingOut.of(booking, await services.booking_key(uow.session, cipher, booking))


@router.get("/bookings/{ref}/cancellation")
async def preview_cancellation(
    ref: str, principal: BookingRead, session: SessionDep, clock: ClockDep
) -> RefundPreviewOut:
    """What cancelling now would refund, by the booking's terms."""
    booking = await services.get_booking(session, principal, ref)
    return RefundPreviewOut.of(booking, services.refund_preview(booking, clock.now()))


@router.post("/bookings/{ref}/cancel")
async def cancel_booking(
    ref: str,
    request: Request,
    principal: BookingCancel,
    uow: UowDep,
    clock: ClockDep,
    provider: OptionalProviderDep,
) -> BookingOut:
    """Cancel a booking or release a hold; edges receive the revocation.

    The refund due by the booking's terms is recorded with the cancellation and paid back through
    the provider it was paid with (status `refunded` once the provider confirms; until then the
    refund is retried, see GET /api/v1/payments/refunds).
    """
    booking = await payment_services.cancel_and_refund(
        uow, clock, provider, principal, ref, notify_url=notify_url(request)
    )
    return BookingOut.of(booking)


@router.post("/bookings/{ref}/refund")
async def refund_booking(
    ref: str, body: RefundIn, principal: BookingWrite, uow: UowDep, clock: ClockDep
) -> BookingOut:
    """Record that a cancelled booking's refund was paid out (repeats with the same refund_ref are no-ops)."""
    booking = await services.record_refund(
        uow, clock, ref=ref, refund_ref=body.refund_ref, tenant_id=principal.tenant_id, actor=principal.actor
    )
    return BookingOut.of(booking)


@router.post("/bookings/{ref}/reschedule")
async def reschedule_booking(
    ref: str,
    body: RescheduleIn,
    request: Request,
    principal: BookingWrite,
    uow: UowDep,
    clock: ClockDep,
    provider: OptionalProviderDep,
) -> RescheduleOut:
    """Move a booking to a free slot, keeping its ref and code key (409 slot_taken leaves it unchanged).

    The new slot is priced again; for a booking paid through the provider a dearer slot starts a
    payment of the difference (`payment.pay_url`), a cheaper one refunds it (`refunds`).
    """
    moved = await payment_services.reschedule_and_settle(
        uow,
        clock,
        provider,
        principal,
        ref,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        room_id=body.room_id,
        notify_url=notify_url(request),
        return_url=str(request.base_url),
    )
    return await reschedule_out(uow.session, moved)


@router.post("/bookings/{ref}/complete")
async def complete_booking(ref: str, principal: BookingWrite, uow: UowDep, clock: ClockDep) -> BookingOut:
    """Close a redeemed booking."""
    return BookingOut.of(await services.complete_booking(uow, clock, principal, ref))
