"""Request and response models of the booking API (money in fen)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from cloud.booking.model import Refund, Segment
from cloud.booking.tables import BlockedSlot, Booking
from cloud.pricing.model import Quote


class BookingCreate(BaseModel):
    """POST /api/v1/bookings (an operator's booking): ISO 8601 times with a time zone, on whole minutes."""

    room_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    customer_name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=4, max_length=40)
    party_size: int | None = None


class HoldCreate(BaseModel):
    """POST /api/v1/holds (a customer's booking, held until paid)."""

    room_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    party_size: int
    customer_name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=4, max_length=40)


class ConfirmIn(BaseModel):
    """POST /api/v1/bookings/{ref}/confirm: the payment that secures a hold (repeats are harmless)."""

    payment_ref: str = Field(min_length=1, max_length=100)
    amount_paid: int | None = None


class RefundIn(BaseModel):
    """POST /api/v1/bookings/{ref}/refund: the refund due was paid out."""

    refund_ref: str = Field(min_length=1, max_length=100)


class RescheduleIn(BaseModel):
    """POST /api/v1/bookings/{ref}/reschedule: the new time (and, optionally, room of the same store)."""

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    room_id: str | None = None


class QuoteIn(BaseModel):
    """POST /api/v1/quotes: price a slot a customer could hold."""

    room_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    party_size: int | None = None


class QuoteOut(BaseModel):
    """A price with its breakdown, and the deposit a hold of it asks for."""

    currency: str
    total: int
    deposit: int
    per_hour: int
    lines: list[dict[str, Any]]

    @classmethod
    def of(cls, quote: Quote, deposit: int) -> QuoteOut:
        """From the pricing model."""
        body = quote.as_json()
        return cls(
            currency=body["currency"],
            total=quote.total,
            deposit=deposit,
            per_hour=quote.per_hour(),
            lines=body["lines"],
        )


class BookingOut(BaseModel):
    """A booking; `booking_key` (base64) is what the customer's page draws codes with."""

    ref: str
    order_no: str
    store_id: str
    room_id: str
    starts_at: datetime
    ends_at: datetime
    occupied_until: datetime
    status: str
    source: str
    customer_name: str
    phone_last4: str
    party_size: int | None
    key_version: int
    booking_key: str | None = None
    hold_expires_at: datetime | None
    price_total: int
    deposit_due: int
    amount_paid: int
    payment_ref: str | None
    refund_amount: int | None
    refund_ref: str | None
    quote: dict[str, Any] | None
    terms: dict[str, Any] | None
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, booking: Booking, key: bytes | None = None) -> BookingOut:
        """Build from the ORM row (and the per-booking key, when shown)."""
        return cls(
            ref=booking.ref,
            order_no=booking.order_no,
            store_id=booking.store_id,
            room_id=booking.room_id,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            occupied_until=booking.occupied_until,
            status=booking.status,
            source=booking.source,
            customer_name=booking.customer_name,
            phone_last4=booking.phone_last4,
            party_size=booking.party_size,
            key_version=booking.key_version,
            booking_key=base64.b64encode(key).decode() if key else None,
            hold_expires_at=booking.hold_expires_at,
            price_total=booking.price_total,
            deposit_due=booking.deposit_due,
            amount_paid=booking.amount_paid,
            payment_ref=booking.payment_ref,
            refund_amount=booking.refund_amount,
            refund_ref=booking.refund_ref,
            quote=booking.quote,
            terms=booking.terms,
            created_at=booking.created_at,
            confirmed_at=booking.confirmed_at,
            cancelled_at=booking.cancelled_at,
        )


class RefundPreviewOut(BaseModel):
    """What cancelling now would refund, by the booking's terms."""

    ref: str
    status: str
    amount_paid: int
    refund_pct: int
    refund_amount: int
    minutes_before: int
    tiers: list[dict[str, int]]

    @classmethod
    def of(cls, booking: Booking, refund: Refund) -> RefundPreviewOut:
        """From the booking and the computed refund."""
        return cls(
            ref=booking.ref,
            status=booking.status,
            amount_paid=booking.amount_paid,
            refund_pct=refund.pct,
            refund_amount=refund.amount,
            minutes_before=refund.minutes_before,
            tiers=list((booking.terms or {}).get("cancellation_tiers", [])),
        )


class CodeOut(BaseModel):
    """The code the booking's page draws now."""

    code: str
    valid_for_s: int
    refresh_in_s: int


class SegmentOut(BaseModel):
    """A stretch of a room's day in one state (ref: the booking or block behind it)."""

    state: str
    starts_at: datetime
    ends_at: datetime
    ref: str | None = None
    title: str | None = None

    @classmethod
    def of(cls, segment: Segment) -> SegmentOut:
        """From the model."""
        return cls(
            state=segment.state.value,
            starts_at=segment.start,
            ends_at=segment.end,
            ref=segment.ref,
            title=segment.title,
        )


class RoomDayOut(BaseModel):
    """One room's timeline of the day."""

    room_id: str
    name: str
    kind: str
    room_type: str
    capacity_min: int
    capacity_max: int | None
    segments: list[SegmentOut]


class StoreDayOut(BaseModel):
    """Every room's timeline of one local day of a store."""

    store_id: str
    date: date
    timezone: str
    starts_at: datetime
    ends_at: datetime
    rooms: list[RoomDayOut]


class OfferOut(BaseModel):
    """A free room matching a search, with the quoted price of the slot."""

    store_id: str
    store_name: str
    city: str
    area: str
    room_id: str
    room_name: str
    kind: str
    room_type: str
    capacity_min: int
    capacity_max: int | None
    facilities: list[str]
    quote: QuoteOut


class BlockCreate(BaseModel):
    """POST /api/v1/blocks: time a room cannot be booked (maintenance or a manual block)."""

    room_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    kind: str = "maintenance"
    title: str = Field(default="", max_length=200)


class BlockOut(BaseModel):
    """A blocked slot."""

    id: str
    store_id: str
    room_id: str
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, block: BlockedSlot) -> BlockOut:
        """From the ORM row."""
        return cls(
            id=block.id,
            store_id=block.store_id,
            room_id=block.room_id,
            kind=block.kind,
            title=block.title,
            starts_at=block.starts_at,
            ends_at=block.ends_at,
            created_at=block.created_at,
        )


class ImportOut(BaseModel):
    """The outcome of a film schedule import: counts, and every row clashing with a booking."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    removed: int
    clashes: list[dict[str, Any]]
