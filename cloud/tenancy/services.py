"""Tenancy services: regions, stores and rooms, always scoped by the caller's tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.devices.tables import Device
from cloud.edgelink.feed import record_change
from cloud.edgelink.model import FeedEntity
from cloud.errors import Conflict, NotFound
from cloud.ids import new_id
from cloud.storekeys import keyring
from cloud.tenancy import model
from cloud.tenancy.tables import Region, Room, Store
from cloud.uow import UnitOfWork


async def get_region(session: AsyncSession, principal: Principal, region_id: str) -> Region:
    """The caller's region (NotFound for another tenant's)."""
    region = await session.get(Region, region_id)
    if region is None or region.tenant_id != principal.tenant_id:
        raise NotFound(f"no region {region_id}", code="region_not_found", field="region_id")
    return region


async def get_store(session: AsyncSession, principal: Principal, store_id: str) -> Store:
    """The caller's store (NotFound for another tenant's)."""
    store = await session.get(Store, store_id)
    if store is None or store.tenant_id != principal.tenant_id:
        raise NotFound(f"no store {store_id}", code="store_not_found", field="store_id")
    return store


async def get_room(session: AsyncSession, principal: Principal, room_id: str) -> tuple[Room, Store]:
    """The caller's room and its store (NotFound for another tenant's)."""
    row = (
        await session.execute(
            select(Room, Store).join(Store, Room.store_id == Store.id).where(Room.id == room_id)
        )
    ).first()
    if row is None or row[1].tenant_id != principal.tenant_id:
        raise NotFound(f"no room {room_id}", code="room_not_found", field="room_id")
    return row[0], row[1]


def region_view(region: Region) -> dict[str, Any]:
    """The audit view of a region."""
    return {"id": region.id, "name": region.name}


def store_view(store: Store) -> dict[str, Any]:
    """The audit view of a store."""
    return {
        "id": store.id,
        "region_id": store.region_id,
        "name": store.name,
        "timezone": store.timezone,
        "early_grace_s": store.early_grace_s,
    }


def room_view(room: Room) -> dict[str, Any]:
    """The audit view of a room."""
    return {"id": room.id, "store_id": room.store_id, "name": room.name, "kind": room.kind}


async def publish_store_info(session: AsyncSession, store: Store) -> int:
    """Record the store's info (with its key versions) in its feed."""
    info = model.StoreInfo(
        id=store.id,
        tenant_id=store.tenant_id,
        name=store.name,
        timezone=store.timezone,
        early_grace_s=store.early_grace_s,
        key_versions=tuple(await keyring.key_versions(session, store.id)),
    )
    return await record_change(session, store.id, FeedEntity.STORE, store.id, info.payload())


async def publish_room(session: AsyncSession, room: Room) -> int:
    """Record a room's current version in its store's feed."""
    info = model.RoomInfo(id=room.id, name=room.name, kind=room.kind)
    return await record_change(session, room.store_id, FeedEntity.ROOM, room.id, info.payload())


async def create_region(uow: UnitOfWork, clock: Clock, principal: Principal, name: str) -> Region:
    """Create a region of the caller's tenant."""
    session = uow.session
    name = model.clean_name(name)
    taken = await session.scalar(
        select(Region.id).where(Region.tenant_id == principal.tenant_id, Region.name == name)
    )
    if taken is not None:
        raise Conflict(f"region {name!r} exists", code="region_exists", field="name")
    region = Region(id=new_id("r"), tenant_id=principal.tenant_id, name=name, created_at=clock.now())
    session.add(region)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="region.create",
        entity="region",
        entity_id=region.id,
        after=region_view(region),
    )
    await uow.commit()
    return region


async def list_regions(session: AsyncSession, principal: Principal) -> list[Region]:
    """The caller's regions by name."""
    rows = await session.scalars(
        select(Region).where(Region.tenant_id == principal.tenant_id).order_by(Region.name)
    )
    return list(rows)


async def create_store(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    principal: Principal,
    *,
    region_id: str,
    name: str,
    timezone: str,
    early_grace_s: int = model.DEFAULT_EARLY_GRACE_S,
) -> Store:
    """Create a store in one of the caller's regions, with its first store key (version 1)."""
    session = uow.session
    region = await get_region(session, principal, region_id)
    name = model.clean_name(name)
    model.check_timezone(timezone)
    model.check_early_grace(early_grace_s)
    taken = await session.scalar(
        select(Store.id).where(Store.tenant_id == principal.tenant_id, Store.name == name)
    )
    if taken is not None:
        raise Conflict(f"store {name!r} exists", code="store_exists", field="name")
    now = clock.now()
    store = Store(
        id=new_id("s"),
        tenant_id=principal.tenant_id,
        region_id=region.id,
        name=name,
        timezone=timezone,
        early_grace_s=early_grace_s,
        feed_cursor=0,
        created_at=now,
        updated_at=now,
    )
    session.add(store)
    await session.flush()
    await keyring.add_key_version(session, cipher, clock, store.id)
    await publish_store_info(session, store)
    record_audit(
        session,
        at=now,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="store.create",
        entity="store",
        entity_id=store.id,
        after=store_view(store),
    )
    await uow.commit()
    return store


@dataclass(frozen=True, slots=True)
class StoreChanges:
    """Fields of a store to change (None: keep)."""

    name: str | None = None
    timezone: str | None = None
    early_grace_s: int | None = None


async def update_store(
    uow: UnitOfWork, clock: Clock, principal: Principal, store_id: str, changes: StoreChanges
) -> Store:
    """Change a store's info; its edges receive it as a delta."""
    session = uow.session
    store = await get_store(session, principal, store_id)
    before = store_view(store)
    if changes.name is not None:
        name = model.clean_name(changes.name)
        clash = await session.scalar(
            select(Store.id).where(
                Store.tenant_id == principal.tenant_id, Store.name == name, Store.id != store.id
            )
        )
        if clash is not None:
            raise Conflict(f"store {name!r} exists", code="store_exists", field="name")
        store.name = name
    if changes.timezone is not None:
        store.timezone = model.check_timezone(changes.timezone)
    if changes.early_grace_s is not None:
        store.early_grace_s = model.check_early_grace(changes.early_grace_s)
    store.updated_at = clock.now()
    await session.flush()
    await publish_store_info(session, store)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="store.update",
        entity="store",
        entity_id=store.id,
        before=before,
        after=store_view(store),
    )
    await uow.commit()
    return store


async def list_stores(
    session: AsyncSession, principal: Principal, region_id: str | None = None
) -> list[Store]:
    """The caller's stores by name, optionally of one region."""
    query = select(Store).where(Store.tenant_id == principal.tenant_id)
    if region_id is not None:
        query = query.where(Store.region_id == region_id)
    return list(await session.scalars(query.order_by(Store.name)))


async def create_room(
    uow: UnitOfWork, clock: Clock, principal: Principal, *, store_id: str, name: str, kind: str
) -> Room:
    """Create a room in one of the caller's stores."""
    session = uow.session
    store = await get_store(session, principal, store_id)
    name = model.clean_name(name)
    model.check_kind(kind)
    taken = await session.scalar(select(Room.id).where(Room.store_id == store.id, Room.name == name))
    if taken is not None:
        raise Conflict(f"room {name!r} exists in this store", code="room_exists", field="name")
    room = Room(id=new_id("rm"), store_id=store.id, name=name, kind=kind, created_at=clock.now())
    session.add(room)
    await session.flush()
    await publish_room(session, room)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="room.create",
        entity="room",
        entity_id=room.id,
        after=room_view(room),
    )
    await uow.commit()
    return room


async def list_rooms(session: AsyncSession, principal: Principal, store_id: str) -> list[Room]:
    """The rooms of one of the caller's stores, by name."""
    store = await get_store(session, principal, store_id)
    return list(await session.scalars(select(Room).where(Room.store_id == store.id).order_by(Room.name)))


async def delete_room(uow: UnitOfWork, clock: Clock, principal: Principal, room_id: str) -> None:
    """Delete a room that never had a booking, with its devices; edges receive tombstones."""
    session = uow.session
    room, store = await get_room(session, principal, room_id)
    if await session.scalar(select(exists().where(Booking.room_id == room.id))):
        raise Conflict("the room has bookings", code="room_has_bookings", field="room_id")
    devices = list(await session.scalars(select(Device).where(Device.room_id == room.id)))
    for device in devices:
        await session.delete(device)
        await record_change(session, store.id, FeedEntity.DEVICE, device.id, {"id": device.id}, deleted=True)
    await session.delete(room)
    await record_change(session, store.id, FeedEntity.ROOM, room.id, {"id": room.id}, deleted=True)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="room.delete",
        entity="room",
        entity_id=room.id,
        before=room_view(room),
    )
    await uow.commit()
