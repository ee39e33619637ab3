"""HTTP routes of devices."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cloud.deps import ClockDep, DevicesRead, DevicesWrite, SessionDep, UowDep
from cloud.devices import services
from cloud.devices.schemas import DeviceCreate, DeviceOut, DeviceUpdate

router = APIRouter(prefix="/api/v1", tags=["devices"])


@router.post("/devices", status_code=201)
async def create_device(
    body: DeviceCreate, principal: DevicesWrite, uow: UowDep, clock: ClockDep
) -> DeviceOut:
    """Register a device."""
    device = await services.create_device(
        uow,
        clock,
        principal,
        kind=body.kind,
        protocol=body.protocol,
        config=body.config,
        room_id=body.room_id,
        store_id=body.store_id,
        device_id=body.id,
        zone=body.zone,
    )
    return DeviceOut.model_validate(device)


@router.get("/devices")
async def list_devices(
    principal: DevicesRead, session: SessionDep, store_id: str | None = None, room_id: str | None = None
) -> list[DeviceOut]:
    """The devices of a store or a room."""
    devices = await services.list_devices(session, principal, store_id=store_id, room_id=room_id)
    return [DeviceOut.model_validate(d) for d in devices]


@router.get("/devices/{device_id}")
async def get_device(device_id: str, principal: DevicesRead, session: SessionDep) -> DeviceOut:
    """One device."""
    return DeviceOut.model_validate(await services.get_device(session, principal, device_id))


@router.patch("/devices/{device_id}")
async def update_device(
    device_id: str, body: DeviceUpdate, principal: DevicesWrite, uow: UowDep, clock: ClockDep
) -> DeviceOut:
    """Change a device in place: its room (null: store-wide), kind, protocol, config or alarm zone."""
    changes = services.DeviceChanges(
        move="room_id" in body.model_fields_set,
        room_id=body.room_id,
        kind=body.kind,
        protocol=body.protocol,
        config=body.config,
        zone=body.zone,
    )
    device = await services.update_device(uow, clock, principal, device_id, changes)
    return DeviceOut.model_validate(device)


@router.delete("/devices/{device_id}", status_code=204)
async def delete_device(device_id: str, principal: DevicesWrite, uow: UowDep, clock: ClockDep) -> Response:
    """Remove a device."""
    await services.delete_device(uow, clock, principal, device_id)
    return Response(status_code=204)
