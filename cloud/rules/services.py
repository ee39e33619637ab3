"""Booking settings use cases: set a level's values (HQ: also bounds); show effective values, sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.rules import levels, model
from cloud.rules.model import Bound, Effective, Level
from cloud.rules.tables import BookingSettings
from cloud.tenancy.model import check_kind
from cloud.tenancy.services import get_room, get_store, publish_room, publish_store_info
from cloud.tenancy.tables import Room, Store
from cloud.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class LevelView:
    """What one level sets (and, for the chain, HQ's bounds)."""

    level: Level
    scope: str
    values: dict[str, Any]
    bounds: dict[str, Bound]


@dataclass(frozen=True, slots=True)
class EffectiveView:
    """Every setting's effective value and source for a store and/or room type, with HQ's bounds."""

    store_id: str | None
    room_type: str | None
    settings: dict[str, Effective]
    bounds: dict[str, Bound]


async def _view(session: AsyncSession, tenant_id: str, level: Level, scope: str) -> LevelView:
    row = await levels.get_row(session, tenant_id, level, scope)
    values = dict(row.values) if row is not None else {}
    bounds = model.check_bounds(row.bounds) if row is not None and row.bounds else {}
    return LevelView(level, scope, values, bounds)


async def get_level(session: AsyncSession, principal: Principal, level: Level, scope: str = "") -> LevelView:
    """What one level sets (NotFound for another tenant's store)."""
    if level is Level.STORE:
        await get_store(session, principal, scope)
    if level is Level.ROOM_TYPE:
        check_kind(scope, "room_type")
    return await _view(session, principal.tenant_id, level, scope)


async def _refresh_stores(session: AsyncSession, tenant_id: str, store_ids: list[str] | None = None) -> None:
    """Tell every (or the given) store's edge its session settings; keep the grace column in step.

    Called only when a level's edge settings changed: a deposit or refund rule is no edge's business.
    """
    query = select(Store).where(Store.tenant_id == tenant_id)
    if store_ids is not None:
        query = query.where(Store.id.in_(store_ids))
    for store in list(await session.scalars(query.order_by(Store.id))):
        store.early_grace_s = await levels.effective_grace(session, tenant_id, store.id)
        await session.flush()
        await publish_store_info(session, store)


async def _refresh_rooms(session: AsyncSession, tenant_id: str, room_type: str) -> None:
    """Tell the edges of every store with rooms of this type the type's session settings."""
    rooms = await session.scalars(
        select(Room)
        .join(Store, Store.id == Room.store_id)
        .where(Store.tenant_id == tenant_id, Room.room_type == room_type)
        .order_by(Room.id)
    )
    for room in list(rooms):
        await publish_room(session, room)


def _audit(
    principal: Principal, clock: Clock, session: AsyncSession, before: LevelView, after: LevelView
) -> None:
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action=f"booking_settings.{after.level.value}",
        entity="booking_settings",
        entity_id=f"{after.level.value}:{after.scope}"[:64],
        before={"values": before.values, "bounds": model.bounds_json(before.bounds)},
        after={"values": after.values, "bounds": model.bounds_json(after.bounds)},
    )


async def set_chain(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    values: Mapping[str, Any],
    bounds: Mapping[str, Any] | None = None,
) -> LevelView:
    """HQ sets the chain-wide values and (optionally) the bounds every lower level must respect.

    New bounds that would leave an existing store or room type value outside them are refused,
    listing those values (409 bounds_exclude_overrides).
    """
    session = uow.session
    tenant_id = principal.tenant_id
    before = await _view(session, tenant_id, Level.CHAIN, levels.CHAIN_SCOPE)
    new_bounds = model.check_bounds(bounds) if bounds is not None else before.bounds
    checked = model.check_values(values, Level.CHAIN, new_bounds)
    rows = await session.scalars(select(BookingSettings).where(BookingSettings.tenant_id == tenant_id))
    overrides = {
        (Level(row.level), row.scope): dict(row.values) for row in rows if row.level != Level.CHAIN.value
    }
    overrides[(Level.CHAIN, levels.CHAIN_SCOPE)] = checked
    violations = model.bound_violations(overrides, new_bounds)
    if violations:
        error = model.BoundsExcludeOverrides(
            f"{len(violations)} value(s) would fall outside the new bounds; change them first", field="bounds"
        )
        error.extra = {"violations": violations}
        raise error
    await levels.save_values(
        session, tenant_id, Level.CHAIN, levels.CHAIN_SCOPE, checked, clock.now(), bounds=new_bounds
    )
    after = LevelView(Level.CHAIN, levels.CHAIN_SCOPE, checked, dict(new_bounds))
    if model.edge_layer(before.values) != model.edge_layer(checked):
        await _refresh_stores(session, tenant_id)
    _audit(principal, clock, session, before, after)
    await uow.commit()
    return after


async def set_room_type(
    uow: UnitOfWork, clock: Clock, principal: Principal, room_type: str, values: Mapping[str, Any]
) -> LevelView:
    """Set what a room type overrides (inside HQ's bounds); its session settings reach the edges."""
    session = uow.session
    check_kind(room_type, "room_type")
    before = await _view(session, principal.tenant_id, Level.ROOM_TYPE, room_type)
    bounds = await levels.chain_bounds(session, principal.tenant_id)
    checked = model.check_values(values, Level.ROOM_TYPE, bounds)
    await levels.save_values(session, principal.tenant_id, Level.ROOM_TYPE, room_type, checked, clock.now())
    after = LevelView(Level.ROOM_TYPE, room_type, checked, {})
    if model.edge_layer(before.values) != model.edge_layer(checked):
        await _refresh_rooms(session, principal.tenant_id, room_type)
    _audit(principal, clock, session, before, after)
    await uow.commit()
    return after


async def set_store(
    uow: UnitOfWork, clock: Clock, principal: Principal, store_id: str, values: Mapping[str, Any]
) -> LevelView:
    """Set what a store overrides (inside HQ's bounds); a new early grace reaches the store's edge."""
    session = uow.session
    store = await get_store(session, principal, store_id)
    before = await _view(session, principal.tenant_id, Level.STORE, store.id)
    bounds = await levels.chain_bounds(session, principal.tenant_id)
    checked = model.check_values(values, Level.STORE, bounds)
    await levels.save_values(session, principal.tenant_id, Level.STORE, store.id, checked, clock.now())
    after = LevelView(Level.STORE, store.id, checked, {})
    if model.edge_layer(before.values) != model.edge_layer(checked):
        await _refresh_stores(session, principal.tenant_id, [store.id])
    _audit(principal, clock, session, before, after)
    await uow.commit()
    return after


async def effective_settings(
    session: AsyncSession,
    principal: Principal,
    *,
    store_id: str | None = None,
    room_type: str | None = None,
    room_id: str | None = None,
) -> EffectiveView:
    """Each setting's effective value and the level it came from (a room gives its store and type)."""
    if room_id is not None:
        room, store = await get_room(session, principal, room_id)
        store_id, room_type = store.id, room.room_type
    elif store_id is not None:
        store_id = (await get_store(session, principal, store_id)).id
    if room_type is not None:
        check_kind(room_type, "room_type")
    layers, bounds = await levels.load_layers(
        session, principal.tenant_id, store_id=store_id, room_type=room_type
    )
    return EffectiveView(store_id, room_type, model.effective(layers), bounds)
