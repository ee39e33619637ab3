"""HTTP routes of booking (skeleton)."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.booking import services
from cloud.booking.schemas import BookingCreate, BookingOut, CodeOut
from cloud.deps import ApiPrincipal, CipherDep, ClockDep, SessionDep, UowDep

router = APIRouter(prefix="/api/v1", tags=["booking"])


@router.post("/bookings", status_code=201)
async def create_booking(
    body: BookingCreate, principal: ApiPrincipal, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> BookingOut:
    """Book a room's time (409 slot_taken when it overlaps another booking)."""
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
    )
    return BookingOut.of(booking, key)


@router.get("/bookings")
async def list_bookings(store_id: str, principal: ApiPrincipal, session: SessionDep) -> list[BookingOut]:
    """The bookings of a store."""
    return [BookingOut.of(b) for b in await services.list_bookings(session, principal, store_id)]


@router.get("/bookings/{ref}")
async def get_booking(
    ref: str, principal: ApiPrincipal, session: SessionDep, cipher: CipherDep
) -> BookingOut:
    """One booking, with its per-booking key."""
    booking = await services.get_booking(session, principal, ref)
    return BookingOut.of(booking, await services.booking_key(session, cipher, booking))


@router.get("/bookings/{ref}/code")
async def get_code(
    ref: str, principal: ApiPrincipal, session: SessionDep, clock: ClockDep, cipher: CipherDep
) -> CodeOut:
    """The code the customer's page would draw now."""
    drawn = await services.draw_code(session, clock, cipher, principal, ref)
    return CodeOut(code=drawn.code, valid_for_s=drawn.valid_for_s, refresh_in_s=drawn.refresh_in_s)


@router.post("/bookings/{ref}/cancel")
async def cancel_booking(ref: str, principal: ApiPrincipal, uow: UowDep, clock: ClockDep) -> BookingOut:
    """Cancel a confirmed booking (edges receive the revocation)."""
    return BookingOut.of(await services.cancel_booking(uow, clock, principal, ref))
