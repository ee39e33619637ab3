"""Device health across the caller's stores: each device's last reported state, its edge's link, alarms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Principal, in_reach
from cloud.devices.tables import Device
from cloud.edgelink.model import EventKind
from cloud.edgelink.tables import Edge, EdgeEvent
from cloud.faults.model import Severity, WorkOrderState
from cloud.faults.tables import WorkOrder
from cloud.reports.services import stores_in_reach
from cloud.tenancy.tables import Room, Store

OFFLINE_STATE = "offline"
# How many recent state reports to read per store when looking for each device's latest.
STATE_WINDOW = 5000


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """One device: where it is, what it last reported and when, whether it is reachable, its alarms."""

    device: Device
    store: Store
    room_name: str | None
    state: str  # the last reported state, "unknown" when it never reported
    reported_at: datetime | None
    edge_connected: bool
    edge_seen_at: datetime | None
    alarms: tuple[WorkOrder, ...] = field(default=())

    @property
    def online(self) -> bool | None:
        """True/False when known; None when the device never reported while its edge is linked."""
        if not self.edge_connected or self.state == OFFLINE_STATE:
            return False
        return None if self.reported_at is None else True

    @property
    def status(self) -> str:
        """online, offline or unknown."""
        return {True: "online", False: "offline", None: "unknown"}[self.online]


def _sort_key(row: DeviceHealth) -> tuple[int, str, str, str]:
    order = {"offline": 0, "unknown": 1, "online": 2}[row.status]
    return (order if not row.alarms else -1, row.store.name, row.room_name or "", row.device.id)


def is_alarm(order: WorkOrder) -> bool:
    """An alarm: an open critical work order."""
    return order.severity == Severity.CRITICAL.value and order.state != WorkOrderState.RESOLVED.value


async def open_alarms(
    session: AsyncSession, principal: Principal, stores: Sequence[Store]
) -> list[WorkOrder]:
    """The open critical work orders of the stores, newest first."""
    if not stores:
        return []
    rows = await session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.tenant_id == principal.tenant_id,
            WorkOrder.store_id.in_([s.id for s in stores]),
            WorkOrder.severity == Severity.CRITICAL.value,
            WorkOrder.state != WorkOrderState.RESOLVED.value,
        )
        .order_by(WorkOrder.created_at.desc())
    )
    return [o for o in rows if in_reach(principal, o.tenant_id, store_id=o.store_id, region_id=o.region_id)]


async def device_health(
    session: AsyncSession, principal: Principal, store_id: str | None = None
) -> list[DeviceHealth]:
    """Every device of the caller's stores (or one), offline and alarmed first."""
    stores = await stores_in_reach(session, principal, store_id)
    if not stores:
        return []
    by_id = {s.id: s for s in stores}
    ids = list(by_id)
    devices = list(await session.scalars(select(Device).where(Device.store_id.in_(ids))))
    rooms = {
        rid: name
        for rid, name in await session.execute(select(Room.id, Room.name).where(Room.store_id.in_(ids)))
    }
    links: dict[str, tuple[bool, datetime | None]] = {}
    for edge in await session.scalars(select(Edge).where(Edge.store_id.in_(ids), Edge.revoked_at.is_(None))):
        was = links.get(edge.store_id, (False, None))
        seen = max((t for t in (was[1], edge.last_seen_at) if t is not None), default=None)
        links[edge.store_id] = (was[0] or edge.connected, seen)
    latest: dict[str, tuple[str, datetime]] = {}
    for store in ids:
        reports = await session.execute(
            select(EdgeEvent.payload, EdgeEvent.occurred_at)
            .where(EdgeEvent.store_id == store, EdgeEvent.kind == EventKind.DEVICE_STATE.value)
            .order_by(EdgeEvent.id.desc())
            .limit(STATE_WINDOW)
        )
        for payload, occurred_at in reports:
            device_id, state = payload.get("device_id"), payload.get("state")
            if isinstance(device_id, str) and isinstance(state, str) and device_id not in latest:
                latest[device_id] = (state, occurred_at)
    alarms: dict[str, list[WorkOrder]] = {}
    for order in await open_alarms(session, principal, stores):
        if order.device_id:
            alarms.setdefault(order.device_id, []).append(order)
    await session.commit()  # end the read
    rows = []
    for device in devices:
        state, reported_at = latest.get(device.id, ("unknown", None))
        connected, seen = links.get(device.store_id, (False, None))
        rows.append(
            DeviceHealth(
                device=device,
                store=by_id[device.store_id],
                room_name=rooms.get(device.room_id) if device.room_id else None,
                state=state,
                reported_at=reported_at,
                edge_connected=connected,
                edge_seen_at=seen,
                alarms=tuple(alarms.get(device.id, ())),
            )
        )
    return sorted(rows, key=_sort_key)


async def edge_links(session: AsyncSession, store_ids: Sequence[str]) -> dict[str, bool]:
    """Per store: whether one of its (unrevoked) edges holds a live link now."""
    if not store_ids:
        return {}
    linked = {sid: False for sid in store_ids}
    rows = await session.execute(
        select(Edge.store_id, Edge.connected).where(
            Edge.store_id.in_(list(store_ids)), Edge.revoked_at.is_(None)
        )
    )
    for store_id, connected in rows:
        linked[store_id] = linked[store_id] or bool(connected)
    return linked
