"""The edge's plain data: store items from the cloud, local room sessions, redemptions and events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edge.sessions.model import RoomSession, RoomState

__all__ = [
    "Booking",
    "BookingStatus",
    "Change",
    "Device",
    "ItemKind",
    "NewEvent",
    "OutboxEvent",
    "Redemption",
    "Room",
    "RoomSession",
    "RoomState",
    "ServiceCall",
    "Staff",
    "StoreInfo",
    "StoreItem",
    "Tombstone",
]


class ItemKind(StrEnum):
    """The kinds of store-data items the cloud sends."""

    STORE = "store"
    ROOM = "room"
    DEVICE = "device"
    BOOKING = "booking"
    STAFF = "staff"


class BookingStatus(StrEnum):
    """A booking's status as the cloud reports it."""

    CONFIRMED = "confirmed"
    REDEEMED = "redeemed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """The store this edge serves and its settings."""

    id: str
    tenant_id: str = ""
    name: str = ""
    timezone: str = "UTC"
    early_grace_s: int = 900
    key_versions: tuple[int, ...] = ()
    # Session settings set chain-wide and for this store (keys of edge.sessions.model.SETTING_KEYS).
    chain_settings: Mapping[str, int] = field(default_factory=dict)
    store_settings: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Room:
    """A bookable space."""

    id: str
    name: str = ""
    kind: str = ""
    # Session settings set for this room's type (`kind`).
    type_settings: Mapping[str, int] = field(default_factory=dict)
    # The alarm zone (floor, wing) the room lies in; empty: the store's only zone.
    zone: str = ""


@dataclass(frozen=True, slots=True)
class Device:
    """A device record: what to build a driver from; `config` values are strings."""

    id: str
    kind: str
    protocol: str
    room_id: str | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    # A store-wide device's alarm zone; a room's devices take the room's zone.
    zone: str = ""

    def setting(self, key: str, default: str | None = None) -> str | None:
        """One config value, or default when absent or empty."""
        value = self.config.get(key)
        return value if value else default


@dataclass(frozen=True, slots=True)
class Booking:
    """A booking of a room, as cached from the cloud."""

    ref: str
    room_id: str
    starts_at: int
    ends_at: int
    order_no: str = ""
    phone_last4: str = ""
    status: str = BookingStatus.CONFIRMED.value


@dataclass(frozen=True, slots=True)
class Staff:
    """A person who may sign in to the store's panel, with the cloud's password hash."""

    id: str
    username: str
    display_name: str
    role: str
    password_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A deleted store-data item: only its kind and id are meaningful."""

    kind: ItemKind
    id: str


StoreItem = StoreInfo | Room | Device | Booking | Staff
Change = StoreItem | Tombstone


@dataclass(frozen=True, slots=True)
class Redemption:
    """A booking redeemed at this edge (at most one per booking)."""

    booking_ref: str
    room_id: str
    at: float
    known: bool


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """A customer's call to the staff from a room's QR page (kept; open until staff mark it done)."""

    id: str  # the cloud's call id: a replayed command finds it and adds nothing
    room_id: str
    reason: str
    note: str
    at: float
    command_id: str = ""
    done_at: float | None = None
    done_by: str | None = None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append to the outbox; the store numbers it."""

    kind: str
    occurred_at_ms: int
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event held in the outbox until the cloud acknowledges its seq."""

    seq: int
    kind: str
    occurred_at_ms: int
    payload_json: str
