"""The panel's read model: what every room looks like now, gathered from the store and device states."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from edge.clock import Clock
from edge.devices import DeviceStatus
from edge.faults.services import ALARM_KEY
from edge.records import Booking, BookingStatus
from edge.sessions.model import RoomState, effective_state
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
class RoomView:
    """One room on the panel: session state, its booking or the next one, its devices."""

    id: str
    name: str
    kind: str
    state: str
    booking: BookingView | None
    next_booking: BookingView | None
    devices: tuple[DeviceView, ...]


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

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PanelSources:
    """Where the panel reads from: the store, in-memory device states and the link's state."""

    store: EdgeStore
    clock: Clock
    device_statuses: Callable[[], Mapping[str, DeviceStatus]]
    link_connected: Callable[[], bool]
    device_availability: Callable[[], Mapping[str, str]] = field(default=lambda: {})


def _booking_view(booking: Booking | None) -> BookingView | None:
    if booking is None:
        return None
    return BookingView(booking.ref, booking.starts_at, booking.ends_at, booking.order_no, booking.status)


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
        )
        devices_by_room.setdefault(device.room_id, []).append(view)
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
        room_views.append(
            RoomView(
                room.id,
                room.name or room.id,
                room.kind,
                state.value,
                _booking_view(current),
                _booking_view(upcoming[0] if upcoming else None),
                tuple(devices_by_room.get(room.id, ())),
            )
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
        faults=tuple(
            FaultView(f.id, f.code, f.severity.value, f.device_id, f.room_id, f.message, f.raised_at)
            for f in await store.faults()
        ),
        alarm=bool(await store.meta(ALARM_KEY)),
    )
