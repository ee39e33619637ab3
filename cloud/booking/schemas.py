"""Request and response models of the booking API."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from cloud.booking.tables import Booking


class BookingCreate(BaseModel):
    """POST /api/v1/bookings: ISO 8601 times with a time zone, on whole minutes."""

    room_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    customer_name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=4, max_length=40)


class BookingOut(BaseModel):
    """A booking; `booking_key` (base64) is what the customer's page draws codes with."""

    ref: str
    order_no: str
    store_id: str
    room_id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    customer_name: str
    phone_last4: str
    key_version: int
    booking_key: str | None = None
    created_at: datetime

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
            status=booking.status,
            customer_name=booking.customer_name,
            phone_last4=booking.phone_last4,
            key_version=booking.key_version,
            booking_key=base64.b64encode(key).decode() if key else None,
            created_at=booking.created_at,
        )


class CodeOut(BaseModel):
    """The code the booking's page draws now."""

    code: str
    valid_for_s: int
    refresh_in_s: int
