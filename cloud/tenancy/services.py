"""Tenancy services: regions, stores and rooms, always scoped by the caller's tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal, in_reach
from cloud.auth.scoping import region_filter, store_filter
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.devices.tables import Device
from cloud.edgelink.feed import record_change
from cloud.edgelink.model import FeedEntity
from cloud.edgelink.staff import publish_store_staff
from cloud.errors import Conflict, Invalid, NotFound
from cloud.ids import new_id
from cloud.pricing.model import parse_plan, plan_json
from cloud.rules import levels
from cloud.rules.model import Level
from cloud.storekeys import keyring
from cloud.tenancy import model
from cloud.tenancy.tables import Region, Room, Store
from cloud.uow import UnitOfWork
from protos import codes


async def get_region(session: AsyncSession, principal: Principal, region_id: str) -> Region:
    """The caller's region (NotFound for another tenant's or outside the caller's reach)."""
    region = await session.get(Region, region_id)
    if region is None or not in_reach(principal, region.tenant_id, region_id=region.id):
        raise NotFound(f"no region {region_id}", code="region_not_found", field="region_id")
    return region


async def get_store(session: AsyncSession, principal: Principal, store_id: str) -> Store:
    """The caller's store (NotFound for another tenant's or outside the caller's reach)."""
    store = await session.get(Store, store_id)
    if store is None or not in_reach(
        principal, store.tenant_id, store_id=store.id, region_id=store.region_id
    ):
        raise NotFound(f"no store {store_id}", code="store_not_found", field="store_id")
    return store


async def get_room(session: AsyncSession, principal: Principal, room_id: str) -> tuple[Room, Store]:
    """The caller's room and its store (NotFound for another tenant's)."""
    row = (
        await session.execute(
            select(Room, Store).join(Store, Room.store_id == Store.id).where(Room.id == room_id)
        )
    ).first()
    if row is None or not in_reach(
        principal, row[1].tenant_id, store_id=row[1].id, region_id=row[1].region_id
    ):
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
        "city": store.city,
        "area": store.area,
        "opening_hours": store.opening_hours,
        "closed_dates": list(store.closed_dates or []),
    }


def room_view(room: Room) -> dict[str, Any]:
    """The audit view of a room."""
    return {
        "id": room.id,
        "store_id": room.store_id,
        "name": room.name,
        "kind": room.kind,
        "room_type": room.room_type,
        "capacity_min": room.capacity_min,
        "capacity_max": room.capacity_max,
        "facilities": list(room.facilities or []),
        "price_plan": room.price_plan,
        "zone": room.zone,
    }


def _hours_json(raw: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    return None if raw is None else model.opening_hours_json(model.parse_opening_hours(raw))


def _closed_json(raw: Sequence[str] | None) -> list[str]:
    return sorted(d.isoformat() for d in model.parse_closed_dates(raw))


def _plan_json(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        return plan_json(parse_plan(raw))
    except Invalid as err:
        err.field = f"price_plan.{err.field}" if err.field else "price_plan"
        raise


async def publish_store_info(session: AsyncSession, store: Store) -> int:
    """Record the store's info (key versions, chain and store session settings) in its feed."""
    info = model.StoreInfo(
        id=store.id,
        tenant_id=store.tenant_id,
        name=store.name,
        timezone=store.timezone,
        early_grace_s=store.early_grace_s,
        key_versions=tuple(await keyring.key_versions(session, store.id)),
    )
    chain_settings, store_settings = await levels.edge_layers(session, store.tenant_id, store.id)
    payload = {**info.payload(), "chain_settings": chain_settings, "store_settings": store_settings}
    return await record_change(session, store.id, FeedEntity.STORE, store.id, payload)


async def publish_room(session: AsyncSession, room: Room) -> int:
    """Record a room's current version (with its type's session settings) in its store's feed."""
    info = model.RoomInfo(id=room.id, name=room.name, kind=room.kind, zone=room.zone)
    tenant_id = await session.scalar(select(Store.tenant_id).where(Store.id == room.store_id))
    type_settings = await levels.type_edge_layer(session, tenant_id or "", room.room_type)
    payload = {**info.payload(), "type_settings": type_settings}
    return await record_change(session, room.store_id, FeedEntity.ROOM, room.id, payload)


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
        select(Region)
        .where(Region.tenant_id == principal.tenant_id, region_filter(principal, Region.id))
        .order_by(Region.name)
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
    early_grace_s: int | None = None,
    city: str = "",
    area: str = "",
    opening_hours: Mapping[str, Any] | None = None,
    closed_dates: Sequence[str] | None = None,
) -> Store:
    """Create a store in one of the caller's regions, with its first store key (version 1).

    Without opening hours the store is open around the clock; without an early grace it takes
    the chain's (a given one becomes the store's own booking setting, inside HQ's bounds).
    """
    session = uow.session
    region = await get_region(session, principal, region_id)
    name = model.clean_name(name)
    model.check_timezone(timezone)
    if early_grace_s is not None:
        model.check_early_grace(early_grace_s)
    hours = _hours_json(opening_hours)
    closed = _closed_json(closed_dates)
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
        early_grace_s=model.DEFAULT_EARLY_GRACE_S,
        feed_cursor=0,
        city=model.check_area(city, "city"),
        area=model.check_area(area, "area"),
        opening_hours=hours,
        closed_dates=closed,
        created_at=now,
        updated_at=now,
    )
    session.add(store)
    await session.flush()
    if early_grace_s is not None:
        await levels.set_one(
            session, principal.tenant_id, Level.STORE, store.id, "early_grace_s", early_grace_s, now
        )
    store.early_grace_s = await levels.effective_grace(session, principal.tenant_id, store.id)
    await keyring.add_key_version(session, cipher, clock, store.id)
    await publish_store_info(session, store)
    await publish_store_staff(session, store)
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
    city: str | None = None
    area: str | None = None
    opening_hours: Mapping[str, Any] | None = None
    clear_opening_hours: bool = False
    closed_dates: Sequence[str] | None = None


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
        model.check_early_grace(changes.early_grace_s)
        await levels.set_one(
            session,
            principal.tenant_id,
            Level.STORE,
            store.id,
            "early_grace_s",
            changes.early_grace_s,
            clock.now(),
        )
        store.early_grace_s = await levels.effective_grace(session, principal.tenant_id, store.id)
    if changes.city is not None:
        store.city = model.check_area(changes.city, "city")
    if changes.area is not None:
        store.area = model.check_area(changes.area, "area")
    if changes.clear_opening_hours:
        store.opening_hours = None
    elif changes.opening_hours is not None:
        store.opening_hours = _hours_json(changes.opening_hours)
    if changes.closed_dates is not None:
        store.closed_dates = _closed_json(changes.closed_dates)
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
    query = select(Store).where(Store.tenant_id == principal.tenant_id, store_filter(principal, Store.id))
    if region_id is not None:
        query = query.where(Store.region_id == region_id)
    return list(await session.scalars(query.order_by(Store.name)))


@dataclass(frozen=True, slots=True)
class RoomDetails:
    """What a room offers: its type (default: its kind), capacity, facilities and price plan (JSON)."""

    room_type: str | None = None
    capacity_min: int = 1
    capacity_max: int | None = None
    facilities: Sequence[str] = ()
    price_plan: Mapping[str, Any] | None = None
    zone: str = ""


async def create_room(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    *,
    store_id: str,
    name: str,
    kind: str,
    details: RoomDetails | None = None,
) -> Room:
    """Create a room in one of the caller's stores."""
    session = uow.session
    details = details or RoomDetails()
    store = await get_store(session, principal, store_id)
    name = model.clean_name(name)
    model.check_kind(kind)
    room_type = model.check_kind(details.room_type, "room_type") if details.room_type else kind
    capacity_min, capacity_max = model.check_capacity(details.capacity_min, details.capacity_max)
    facilities = model.check_facilities(details.facilities)
    plan = _plan_json(details.price_plan)
    zone = model.check_zone(details.zone)
    taken = await session.scalar(select(Room.id).where(Room.store_id == store.id, Room.name == name))
    if taken is not None:
        raise Conflict(f"room {name!r} exists in this store", code="room_exists", field="name")
    room = Room(
        id=new_id("rm"),
        store_id=store.id,
        name=name,
        kind=kind,
        room_type=room_type,
        capacity_min=capacity_min,
        capacity_max=capacity_max,
        facilities=facilities,
        price_plan=plan,
        zone=zone,
        created_at=clock.now(),
    )
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


@dataclass(frozen=True, slots=True)
class RoomChanges:
    """Fields of a room to change (None: keep; clear_* drops an optional value)."""

    name: str | None = None
    room_type: str | None = None
    capacity_min: int | None = None
    capacity_max: int | None = None
    clear_capacity_max: bool = False
    facilities: Sequence[str] | None = None
    price_plan: Mapping[str, Any] | None = None
    clear_price_plan: bool = False
    zone: str | None = None  # "": no zone


async def update_room(
    uow: UnitOfWork, clock: Clock, principal: Principal, room_id: str, changes: RoomChanges
) -> Room:
    """Change a room's name, type, capacity, facilities, price plan or zone (bookings keep their quotes)."""
    session = uow.session
    room, store = await get_room(session, principal, room_id)
    before = room_view(room)
    if changes.name is not None:
        name = model.clean_name(changes.name)
        clash = await session.scalar(
            select(Room.id).where(Room.store_id == store.id, Room.name == name, Room.id != room.id)
        )
        if clash is not None:
            raise Conflict(f"room {name!r} exists in this store", code="room_exists", field="name")
        room.name = name
    if changes.room_type is not None:
        room.room_type = model.check_kind(changes.room_type, "room_type")
    if changes.clear_capacity_max:
        capacity_max = None
    else:
        capacity_max = changes.capacity_max if changes.capacity_max is not None else room.capacity_max
    room.capacity_min, room.capacity_max = model.check_capacity(
        changes.capacity_min if changes.capacity_min is not None else room.capacity_min, capacity_max
    )
    if changes.facilities is not None:
        room.facilities = model.check_facilities(changes.facilities)
    if changes.clear_price_plan:
        room.price_plan = None
    elif changes.price_plan is not None:
        room.price_plan = _plan_json(changes.price_plan)
    if changes.zone is not None:
        room.zone = model.check_zone(changes.zone)
    await session.flush()
    if (before["name"], before["zone"]) != (room.name, room.zone):
        await publish_room(session, room)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="room.update",
        entity="room",
        entity_id=room.id,
        before=before,
        after=room_view(room),
    )
    await uow.commit()
    return room


async def list_rooms(session: AsyncSession, principal: Principal, store_id: str) -> list[Room]:
    """The rooms of one of the caller's stores, by name."""
    store = await get_store(session, principal, store_id)
    return list(await session.scalars(select(Room).where(Room.store_id == store.id).order_by(Room.name)))


async def room_codes(
    session: AsyncSession, cipher: FieldCipher, principal: Principal, store_id: str
) -> list[tuple[Room, str, int]]:
    """Each room of one of the caller's stores with its printed QR (sealed with the newest store key)."""
    store = await get_store(session, principal, store_id)
    version, key = await keyring.current_key(session, cipher, store.id)
    rooms = await session.scalars(select(Room).where(Room.store_id == store.id).order_by(Room.name))
    return [(room, codes.room_code(key, version, store.id, room.id), version) for room in rooms]


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
