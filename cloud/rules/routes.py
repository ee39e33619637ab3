"""HTTP routes of booking settings."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.deps import ChainSettingsWrite, ClockDep, SessionDep, SettingsRead, StoreSettingsWrite, UowDep
from cloud.rules import services
from cloud.rules.model import Level
from cloud.rules.schemas import ChainSettingsIn, EffectiveOut, LevelOut, LevelSettingsIn

router = APIRouter(prefix="/api/v1/booking-settings", tags=["booking settings"])


@router.get("/effective")
async def effective(
    principal: SettingsRead,
    session: SessionDep,
    store_id: str | None = None,
    room_type: str | None = None,
    room_id: str | None = None,
) -> EffectiveOut:
    """Each effective value and the level it came from (store > room type > chain > default)."""
    view = await services.effective_settings(
        session, principal, store_id=store_id, room_type=room_type, room_id=room_id
    )
    return EffectiveOut.of(view)


@router.get("/chain")
async def get_chain(principal: SettingsRead, session: SessionDep) -> LevelOut:
    """The chain-wide values and HQ's bounds."""
    return LevelOut.of(await services.get_level(session, principal, Level.CHAIN))


@router.put("/chain")
async def put_chain(
    body: ChainSettingsIn, principal: ChainSettingsWrite, uow: UowDep, clock: ClockDep
) -> LevelOut:
    """Replace the chain-wide values (and the bounds, when given)."""
    return LevelOut.of(await services.set_chain(uow, clock, principal, body.values, body.bounds))


@router.get("/room-types/{room_type}")
async def get_room_type(room_type: str, principal: SettingsRead, session: SessionDep) -> LevelOut:
    """What a room type overrides."""
    return LevelOut.of(await services.get_level(session, principal, Level.ROOM_TYPE, room_type))


@router.put("/room-types/{room_type}")
async def put_room_type(
    room_type: str, body: LevelSettingsIn, principal: ChainSettingsWrite, uow: UowDep, clock: ClockDep
) -> LevelOut:
    """Replace what a room type overrides (inside HQ's bounds)."""
    return LevelOut.of(await services.set_room_type(uow, clock, principal, room_type, body.values))


@router.get("/stores/{store_id}")
async def get_store_level(store_id: str, principal: SettingsRead, session: SessionDep) -> LevelOut:
    """What a store overrides."""
    return LevelOut.of(await services.get_level(session, principal, Level.STORE, store_id))


@router.put("/stores/{store_id}")
async def put_store_level(
    store_id: str, body: LevelSettingsIn, principal: StoreSettingsWrite, uow: UowDep, clock: ClockDep
) -> LevelOut:
    """Replace what a store overrides (inside HQ's bounds)."""
    return LevelOut.of(await services.set_store(uow, clock, principal, store_id, body.values))
