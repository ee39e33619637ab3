"""Device services: register, list and remove the devices of the caller's stores."""

from __future__ import annotations

from collections.abc import Mapping
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
    }


def device_info(device: Device) -> model.DeviceInfo:
    """The edge's view of a device."""
    return model.DeviceInfo(
        id=device.id,
        room_id=device.room_id,
        kind=device.kind,
        protocol=device.protocol,
        config=dict(device.config),
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
) -> Device:
    """Register a device in a room (room_id) or store-wide (store_id only)."""
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
