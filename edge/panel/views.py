"""The panel's read models: rooms, devices, faults, the cleaning queue and today's bookings.

Read only from the local store (SQLite) and in-memory device states: the panel works the same
with the cloud unreachable, and a read never waits on a device or the network.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.clock import Clock
from edge.devices import DeviceStatus
from edge.faults.model import FaultCode, Severity
from edge.faults.services import ALARM_KEY
from edge.panel.model import CALL_REASONS, CleaningRoom, Waiting, cleaning_queue
from edge.records import Booking, BookingStatus, StoreInfo
from edge.sessions.model import RoomState, SessionSettings, effective_state
from edge.store import EdgeStore

# How far ahead the panel looks for a room's next booking.
LOOKAHEAD_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking as the panel shows it."""

    ref: str
    starts_at: int
    ends_at: int
    order_no: str
    status: str
    room_id: str = ""
    room_name: str = ""
    redeemed: bool = False


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device and its last known state."""

    id: str
    kind: str
    protocol: str
    state: str
    detail: str | None
    at: float | None
    availability: str = "unknown"
    room_id: str | None = None
    last_seen: float | None = None


@dataclass(frozen=True, slots=True)
class FaultView:
    """An open fault as the panel shows it."""

    id: str
    code: str
    severity: str
    device_id: str | None
    room_id: str | None
    message: str
    raised_at: float


@dataclass(frozen=True, slots=True)
class CallView:
    """A customer's open call from a room's QR page."""

    id: str
    room_id: str
    room_name: str
    reason: str
    label: str
    note: str
    at: float


@dataclass(frozen=True, slots=True)
class RoomView:
    """One room on the panel: session state, its booking or the next one, its devices and their health."""

    id: str
    name: str
    kind: str
    state: str
    booking: BookingView | None
    next_booking: BookingView | None
    devices: tuple[DeviceView, ...]
    since: float | None = None
    ends_at: float | None = None
    # "ok", "offline" (a device is silent), "fault" (an open minor fault) or "critical".
    health: str = "ok"
    faults: int = 0


@dataclass(frozen=True, slots=True)
class PanelState:
    """Everything the panel shows at one moment."""

    store_id: str | None
    store_name: str | None
    now: float
    link_connected: bool
    outbox_depth: int
    cursor: int
    rooms: tuple[RoomView, ...]
    store_devices: tuple[DeviceView, ...]
    faults: tuple[FaultView, ...] = ()
    alarm: bool = False
    timezone: str = "UTC"
    # Customers' calls not yet marked done, oldest first.
    calls: tuple[CallView, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)

    def room(self, room_id: str) -> RoomView | None:
        """One room's view."""
        return next((r for r in self.rooms if r.id == room_id), None)

    def calls_of(self, room_id: str) -> tuple[CallView, ...]:
        """A room's open calls, oldest first."""
        return tuple(c for c in self.calls if c.room_id == room_id)

    @property
    def devices(self) -> tuple[DeviceView, ...]:
        """Every device, rooms' first (by room), then the store's own."""
        return (*(d for r in self.rooms for d in r.devices), *self.store_devices)


@dataclass(frozen=True, slots=True)
class DayView:
    """Today's bookings in the store's timezone."""

    day: str
    timezone: str
    now: float
    bookings: tuple[BookingView, ...]


def _no_availability() -> Mapping[str, str]:
    return {}


def _no_last_seen() -> Mapping[str, float]:
    return {}


@dataclass(frozen=True, slots=True)
class PanelSources:
    """Where the panel reads from: the store, in-memory device states and the link's state."""

    store: EdgeStore
    clock: Clock
    device_statuses: Callable[[], Mapping[str, DeviceStatus]]
    link_connected: Callable[[], bool]
    device_availability: Callable[[], Mapping[str, str]] = field(default=_no_availability)
    last_seen: Callable[[], Mapping[str, float]] = field(default=_no_last_seen)
    # A room's resolved session settings (the cleaning gap); None: the built-in defaults.
    session_settings: Callable[[str], Awaitable[SessionSettings]] | None = None


def timezone_of(info: StoreInfo | None) -> dt.tzinfo:
    """The store's timezone (UTC when unknown or not a valid zone name)."""
    if info is None or not info.timezone:
        return dt.UTC
    try:
        return ZoneInfo(info.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _booking_view(booking: Booking | None, room_name: str = "", redeemed: bool = False) -> BookingView | None:
    if booking is None:
        return None
    return BookingView(
        booking.ref,
        booking.starts_at,
        booking.ends_at,
        booking.order_no,
        booking.status,
        booking.room_id,
        room_name,
        redeemed,
    )


def _health(devices: tuple[DeviceView, ...], faults: list[FaultView]) -> str:
    if any(f.severity == Severity.CRITICAL.value for f in faults):
        return "critical"
    if any(d.availability == "offline" for d in devices):
        return "offline"
    return "fault" if faults else "ok"


async def gather_state(sources: PanelSources) -> PanelState:
    """Read the current panel state (local store and memory only)."""
    store, now = sources.store, sources.clock.now()
    info = await store.store_info()
    rooms = await store.rooms()
    sessions = await store.sessions()
    bookings = [
        b for b in await store.bookings_between(now, now + LOOKAHEAD_S) if b.status != BookingStatus.CANCELLED
    ]
    statuses = sources.device_statuses()
    availability = sources.device_availability()
    seen = sources.last_seen()
    devices_by_room: dict[str | None, list[DeviceView]] = {}
    for device in await store.devices():
        status = statuses.get(device.id)
        view = DeviceView(
            device.id,
            device.kind,
            device.protocol,
            status.state if status else "unknown",
            status.detail if status else None,
            status.at if status else None,
            availability.get(device.id, "unknown"),
            device.room_id,
            seen.get(device.id),
        )
        devices_by_room.setdefault(device.room_id, []).append(view)
    faults = [
        FaultView(f.id, f.code, f.severity.value, f.device_id, f.room_id, f.message, f.raised_at)
        for f in await store.faults()
    ]
    room_views = []
    for room in rooms:
        session = sessions.get(room.id)
        state = effective_state(session, now)
        current = None
        # A reserved room's booking has not begun: it shows as the room's next booking.
        if (
            session is not None
            and session.booking_ref
            and state == session.state
            and state != RoomState.RESERVED
        ):
            current = next(
                (b for b in bookings if b.ref == session.booking_ref), None
            ) or await store.booking(session.booking_ref)
        upcoming = [b for b in bookings if b.room_id == room.id and (current is None or b.ref != current.ref)]
        devices = tuple(devices_by_room.get(room.id, ()))
        room_faults = [f for f in faults if f.room_id == room.id]
        occupied = state in (RoomState.IN_USE, RoomState.ENDING)
        room_views.append(
            RoomView(
                room.id,
                room.name or room.id,
                room.kind,
                state.value,
                _booking_view(current),
                _booking_view(upcoming[0] if upcoming else None),
                devices,
                since=session.since if session is not None and state == session.state else None,
                ends_at=session.ends_at if session is not None and occupied else None,
                health=_health(devices, room_faults),
                faults=len(room_faults),
            )
        )
    names = {r.id: r.name or r.id for r in rooms}
    calls = tuple(
        CallView(
            c.id,
            c.room_id,
            names.get(c.room_id, c.room_id),
            c.reason,
            CALL_REASONS.get(c.reason, c.reason),
            c.note,
            c.at,
        )
        for c in await store.open_service_calls()
    )
    return PanelState(
        store_id=info.id if info else None,
        store_name=info.name if info else None,
        now=now,
        link_connected=sources.link_connected(),
        outbox_depth=await store.outbox_depth(),
        cursor=await store.cursor(),
        rooms=tuple(room_views),
        store_devices=tuple(devices_by_room.get(None, ())),
        faults=tuple(faults),
        alarm=bool(await store.meta(ALARM_KEY)),
        timezone=info.timezone if info and info.timezone else "UTC",
        calls=calls,
    )


async def gather_cleaning(sources: PanelSources) -> tuple[CleaningRoom, ...]:
    """Rooms waiting for their cleaner, the longest waiting first, overdue ones marked."""
    store, now = sources.store, sources.clock.now()
    sessions = await store.sessions()
    overdue = {f.room_id for f in await store.faults() if f.code == FaultCode.CLEANING_OVERDUE}
    waiting = []
    for room in await store.rooms():
        session = sessions.get(room.id)
        if session is None or session.state is not RoomState.CLEANING:
            continue
        settings = (
            await sources.session_settings(room.id)
            if sources.session_settings is not None
            else SessionSettings()
        )
        since = session.since if session.since is not None else now
        waiting.append(
            Waiting(room.id, room.name or room.id, since, settings.cleaning_gap_s, room.id in overdue)
        )
    return tuple(cleaning_queue(waiting, now))


async def gather_bookings(sources: PanelSources) -> DayView:
    """Bookings of the store's day (its timezone) that touch today, by start; cancelled ones included."""
    store, now = sources.store, sources.clock.now()
    info = await store.store_info()
    tz = timezone_of(info)
    local = dt.datetime.fromtimestamp(now, tz)
    start = dt.datetime.combine(local.date(), dt.time(), tz)
    end = start + dt.timedelta(days=1)
    bookings = await store.bookings_between(start.timestamp(), end.timestamp())
    names = {r.id: r.name or r.id for r in await store.rooms()}
    redeemed = await store.redeemed_refs([b.ref for b in bookings])
    views = tuple(
        view
        for b in sorted(bookings, key=lambda b: (b.starts_at, b.room_id, b.ref))
        if (view := _booking_view(b, names.get(b.room_id, b.room_id), b.ref in redeemed)) is not None
    )
    return DayView(local.date().isoformat(), str(tz), now, views)
