"""HTTP routes of tenancy (thin: parse, call a service, shape the answer)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cloud.deps import (
    CipherDep,
    ClockDep,
    RegionsWrite,
    RoomsWrite,
    SessionDep,
    StoresWrite,
    TenancyRead,
    UowDep,
)
from cloud.storekeys.services import rotate_store_key
from cloud.tenancy import services
from cloud.tenancy.schemas import (
    KeyVersionsOut,
    RegionCreate,
    RegionOut,
    RoomCodeOut,
    RoomCreate,
    RoomOut,
    RoomUpdate,
    StoreCreate,
    StoreOut,
    StoreUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["tenancy"])


@router.post("/regions", status_code=201)
async def create_region(
    body: RegionCreate, principal: RegionsWrite, uow: UowDep, clock: ClockDep
) -> RegionOut:
    """Create a region."""
    region = await services.create_region(uow, clock, principal, body.name)
    return RegionOut.model_validate(region)


@router.get("/regions")
async def list_regions(principal: TenancyRead, session: SessionDep) -> list[RegionOut]:
    """The caller's regions."""
    return [RegionOut.model_validate(r) for r in await services.list_regions(session, principal)]


@router.post("/stores", status_code=201)
async def create_store(
    body: StoreCreate, principal: StoresWrite, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> StoreOut:
    """Create a store (with its first store key)."""
    store = await services.create_store(
        uow,
        clock,
        cipher,
        principal,
        region_id=body.region_id,
        name=body.name,
        timezone=body.timezone,
        early_grace_s=body.early_grace_s,
        city=body.city,
        area=body.area,
        opening_hours=body.opening_hours,
        closed_dates=body.closed_dates,
    )
    return StoreOut.model_validate(store)


@router.get("/stores")
async def list_stores(
    principal: TenancyRead, session: SessionDep, region_id: str | None = None
) -> list[StoreOut]:
    """The caller's stores."""
    return [StoreOut.model_validate(s) for s in await services.list_stores(session, principal, region_id)]


@router.get("/stores/{store_id}")
async def get_store(store_id: str, principal: TenancyRead, session: SessionDep) -> StoreOut:
    """One store."""
    return StoreOut.model_validate(await services.get_store(session, principal, store_id))


@router.patch("/stores/{store_id}")
async def update_store(
    store_id: str, body: StoreUpdate, principal: StoresWrite, uow: UowDep, clock: ClockDep
) -> StoreOut:
    """Change a store's name, time zone, early grace, place, opening hours or closed days."""
    changes = services.StoreChanges(
        name=body.name,
        timezone=body.timezone,
        early_grace_s=body.early_grace_s,
        city=body.city,
        area=body.area,
        opening_hours=body.opening_hours,
        clear_opening_hours="opening_hours" in body.model_fields_set and body.opening_hours is None,
        closed_dates=body.closed_dates,
    )
    return StoreOut.model_validate(await services.update_store(uow, clock, principal, store_id, changes))


@router.post("/stores/{store_id}/keys/rotate")
async def rotate_key(
    store_id: str, principal: StoresWrite, uow: UowDep, clock: ClockDep, cipher: CipherDep
) -> KeyVersionsOut:
    """Add a store key version (old versions stay valid)."""
    versions = await rotate_store_key(uow, clock, cipher, principal, store_id)
    return KeyVersionsOut(store_id=store_id, key_versions=versions)


@router.get("/stores/{store_id}/room-codes")
async def room_codes(
    store_id: str, principal: StoresWrite, session: SessionDep, cipher: CipherDep
) -> list[RoomCodeOut]:
    """The store's room QRs to print (those who set the store up: a code proves presence in the room)."""
    sealed = await services.room_codes(session, cipher, principal, store_id)
    return [RoomCodeOut(room_id=r.id, name=r.name, code=code, key_version=v) for r, code, v in sealed]


@router.post("/rooms", status_code=201)
async def create_room(body: RoomCreate, principal: RoomsWrite, uow: UowDep, clock: ClockDep) -> RoomOut:
    """Create a room in a store (type, capacity, facilities, price plan)."""
    details = services.RoomDetails(
        room_type=body.room_type,
        capacity_min=body.capacity_min,
        capacity_max=body.capacity_max,
        facilities=body.facilities,
        price_plan=body.price_plan,
        zone=body.zone,
    )
    room = await services.create_room(
        uow, clock, principal, store_id=body.store_id, name=body.name, kind=body.kind, details=details
    )
    return RoomOut.model_validate(room)


@router.patch("/rooms/{room_id}")
async def update_room(
    room_id: str, body: RoomUpdate, principal: RoomsWrite, uow: UowDep, clock: ClockDep
) -> RoomOut:
    """Change a room's name, type, capacity, facilities, price plan or alarm zone."""
    given = body.model_fields_set
    changes = services.RoomChanges(
        name=body.name,
        room_type=body.room_type,
        capacity_min=body.capacity_min,
        capacity_max=body.capacity_max,
        clear_capacity_max="capacity_max" in given and body.capacity_max is None,
        facilities=body.facilities,
        price_plan=body.price_plan,
        clear_price_plan="price_plan" in given and body.price_plan is None,
        zone=body.zone,
    )
    return RoomOut.model_validate(await services.update_room(uow, clock, principal, room_id, changes))


@router.get("/rooms")
async def list_rooms(store_id: str, principal: TenancyRead, session: SessionDep) -> list[RoomOut]:
    """The rooms of a store."""
    return [RoomOut.model_validate(r) for r in await services.list_rooms(session, principal, store_id)]


@router.get("/rooms/{room_id}")
async def get_room(room_id: str, principal: TenancyRead, session: SessionDep) -> RoomOut:
    """One room."""
    room, _ = await services.get_room(session, principal, room_id)
    return RoomOut.model_validate(room)


@router.delete("/rooms/{room_id}", status_code=204)
async def delete_room(room_id: str, principal: RoomsWrite, uow: UowDep, clock: ClockDep) -> Response:
    """Delete a room that never had a booking (and its devices)."""
    await services.delete_room(uow, clock, principal, room_id)
    return Response(status_code=204)
