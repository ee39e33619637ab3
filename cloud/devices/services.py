"""Device services: register, list, change and remove the devices of the caller's stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.devices import model
from cloud.devices.tables import Device
from cloud.edgelink.feed import record_change
from cloud.edgelink.model import FeedEntity
from cloud.errors import Conflict, Invalid, NotFound
from cloud.ids import new_id
from cloud.tenancy.services import get_room, get_store
from cloud.uow import UnitOfWork


def device_view(device: Device) -> dict[str, Any]:
    """The audit view of a device."""
    return {
        "id": device.id,
        "store_id": device.store_id,
        "room_id": device.room_id,
        "kind": device.kind,
        "protocol": device.protocol,
        "config": dict(device.config),
        "zone": device.zone,
    }


def device_info(device: Device) -> model.DeviceInfo:
    """The edge's view of a device."""
    return model.DeviceInfo(
        id=device.id,
        room_id=device.room_id,
        kind=device.kind,
        protocol=device.protocol,
        config=dict(device.config),
        zone=device.zone,
    )


async def create_device(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    *,
    kind: str,
    protocol: str,
    config: Mapping[str, str],
    room_id: str | None = None,
    store_id: str | None = None,
    device_id: str | None = None,
    zone: str = "",
) -> Device:
    """Register a device in a room (room_id) or store-wide (store_id only, with an optional alarm zone)."""
    session = uow.session
    if room_id is not None:
        _, store = await get_room(session, principal, room_id)
        if store_id is not None and store_id != store.id:
            raise Invalid("room_id is not in store_id", code="room_not_in_store", field="room_id")
    elif store_id is not None:
        store = await get_store(session, principal, store_id)
    else:
        raise Invalid("give room_id or store_id", code="missing_location", field="room_id")
    clean = model.check_device(kind, protocol, config)
    zone = model.check_device_zone(zone, room_id)
    new = model.check_device_id(device_id) if device_id is not None else new_id("d")
    if await session.get(Device, new) is not None:
        raise Conflict(f"device {new} exists", code="device_exists", field="id")
    device = Device(
        id=new,
        store_id=store.id,
        room_id=room_id,
        kind=kind,
        protocol=protocol,
        config=clean,
        zone=zone,
        created_at=clock.now(),
    )
    session.add(device)
    await session.flush()
    await record_change(session, store.id, FeedEntity.DEVICE, device.id, device_info(device).payload())
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="device.create",
        entity="device",
        entity_id=device.id,
        after=device_view(device),
    )
    await uow.commit()
    return device


async def get_device(session: AsyncSession, principal: Principal, device_id: str) -> Device:
    """The caller's device (NotFound for another tenant's)."""
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}", code="device_not_found", field="device_id")
    try:
        await get_store(session, principal, device.store_id)
    except NotFound as err:
        raise NotFound(f"no device {device_id}", code="device_not_found", field="device_id") from err
    return device


async def list_devices(
    session: AsyncSession, principal: Principal, *, store_id: str | None = None, room_id: str | None = None
) -> list[Device]:
    """The devices of one of the caller's stores or rooms."""
    if room_id is not None:
        room, _ = await get_room(session, principal, room_id)
        query = select(Device).where(Device.room_id == room.id)
    elif store_id is not None:
        store = await get_store(session, principal, store_id)
        query = select(Device).where(Device.store_id == store.id)
    else:
        raise Invalid("give store_id or room_id", code="missing_location", field="store_id")
    return list(await session.scalars(query.order_by(Device.id)))


@dataclass(frozen=True, slots=True)
class DeviceChanges:
    """Fields of a device to change (None: keep); `move` says room_id was given (None: store-wide)."""

    move: bool = False
    room_id: str | None = None
    kind: str | None = None
    protocol: str | None = None
    config: Mapping[str, str] | None = None
    zone: str | None = None


async def update_device(
    uow: UnitOfWork, clock: Clock, principal: Principal, device_id: str, changes: DeviceChanges
) -> Device:
    """Change a device in place (room, kind, protocol, config, zone), checked like a new one.

    Its store's edges receive the new version (and rebuild the device's driver); a change that
    changes nothing records nothing.
    """
    session = uow.session
    device = await get_device(session, principal, device_id)
    room_id = changes.room_id if changes.move else device.room_id
    if changes.move and room_id is not None:
        room, _ = await get_room(session, principal, room_id)
        if room.store_id != device.store_id:
            raise Invalid("a device stays in its store", code="room_not_in_store", field="room_id")
    kind = changes.kind if changes.kind is not None else device.kind
    protocol = changes.protocol if changes.protocol is not None else device.protocol
    config = model.check_device(
        kind, protocol, changes.config if changes.config is not None else dict(device.config)
    )
    # Moving into a room gives up a store-wide zone (the room's zone applies there).
    kept = "" if room_id is not None else device.zone
    zone = model.check_device_zone(changes.zone if changes.zone is not None else kept, room_id)
    before = device_view(device)
    device.room_id, device.kind, device.protocol, device.config, device.zone = (
        room_id,
        kind,
        protocol,
        config,
        zone,
    )
    after = device_view(device)
    if after == before:
        return device
    await session.flush()
    await record_change(session, device.store_id, FeedEntity.DEVICE, device.id, device_info(device).payload())
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="device.update",
        entity="device",
        entity_id=device.id,
        before=before,
        after=after,
    )
    await uow.commit()
    return device


async def delete_device(uow: UnitOfWork, clock: Clock, principal: Principal, device_id: str) -> None:
    """Remove a device; its store's edges receive a tombstone."""
    session = uow.session
    device = await get_device(session, principal, device_id)
    before = device_view(device)
    await session.delete(device)
    await record_change(
        session, device.store_id, FeedEntity.DEVICE, device.id, {"id": device.id}, deleted=True
    )
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="device.delete",
        entity="device",
        entity_id=device.id,
        before=before,
    )
    await uow.commit()
