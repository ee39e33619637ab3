"""Reading and writing the settings of each level inside the caller's transaction (no tenancy imports)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, SQLColumnExpression, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import Invalid
from cloud.rules import model
from cloud.rules.model import Bound, Level
from cloud.rules.tables import BookingSettings

CHAIN_SCOPE = ""


def scope_of(level: Level, *, store_id: str | None = None, room_type: str | None = None) -> str:
    """The scope key of a level's row."""
    if level is Level.STORE:
        return store_id or ""
    if level is Level.ROOM_TYPE:
        return room_type or ""
    return CHAIN_SCOPE


async def load_layers(
    session: AsyncSession, tenant_id: str, *, store_id: str | None = None, room_type: str | None = None
) -> tuple[dict[Level, dict[str, Any]], dict[str, Bound]]:
    """The values each level sets for a store and room type (one query), and HQ's bounds."""
    wanted = [and_(BookingSettings.level == Level.CHAIN.value, BookingSettings.scope == CHAIN_SCOPE)]
    if store_id is not None:
        wanted.append(and_(BookingSettings.level == Level.STORE.value, BookingSettings.scope == store_id))
    if room_type is not None:
        wanted.append(
            and_(BookingSettings.level == Level.ROOM_TYPE.value, BookingSettings.scope == room_type)
        )
    rows = await session.execute(
        select(BookingSettings.level, BookingSettings.values, BookingSettings.bounds).where(
            BookingSettings.tenant_id == tenant_id, or_(*wanted)
        )
    )
    layers: dict[Level, dict[str, Any]] = {}
    bounds: dict[str, Bound] = {}
    for level, values, raw_bounds in rows:
        layers[Level(level)] = dict(values or {})
        if level == Level.CHAIN.value and raw_bounds:
            bounds = model.check_bounds(raw_bounds)
    return layers, bounds


async def rules_for(
    session: AsyncSession, tenant_id: str, *, store_id: str, room_type: str
) -> model.BookingRules:
    """The effective booking rules of a room type in a store."""
    layers, _ = await load_layers(session, tenant_id, store_id=store_id, room_type=room_type)
    return model.resolve(layers)


async def get_row(session: AsyncSession, tenant_id: str, level: Level, scope: str) -> BookingSettings | None:
    """One level's row, if it was ever set."""
    return await session.get(BookingSettings, (tenant_id, level.value, scope))


async def chain_bounds(session: AsyncSession, tenant_id: str) -> dict[str, Bound]:
    """HQ's bounds (none set: only the hard limits)."""
    row = await get_row(session, tenant_id, Level.CHAIN, CHAIN_SCOPE)
    return model.check_bounds(row.bounds) if row is not None and row.bounds else {}


async def save_values(
    session: AsyncSession,
    tenant_id: str,
    level: Level,
    scope: str,
    values: Mapping[str, Any],
    now: datetime,
    *,
    bounds: Mapping[str, Bound] | None = None,
) -> BookingSettings:
    """Replace one level's values (already checked); bounds only on the chain level."""
    row = await get_row(session, tenant_id, level, scope)
    if row is None:
        row = BookingSettings(tenant_id=tenant_id, level=level.value, scope=scope, values={}, updated_at=now)
        session.add(row)
    row.values = dict(values)
    if level is Level.CHAIN and bounds is not None:
        row.bounds = model.bounds_json(bounds)
    row.updated_at = now
    await session.flush()
    return row


async def set_one(
    session: AsyncSession, tenant_id: str, level: Level, scope: str, key: str, value: Any, now: datetime
) -> Any:
    """Set (or, with None, clear) one key of a level, checked against HQ's bounds; the value kept."""
    row = await get_row(session, tenant_id, level, scope)
    values = dict(row.values) if row is not None else {}
    if value is None:
        values.pop(key, None)
    else:
        bounds = await chain_bounds(session, tenant_id)
        try:
            values.update(model.check_values({key: value}, level, bounds))
        except Invalid as err:
            err.field = key  # the caller's field is the key itself
            raise
    current_bounds = model.check_bounds(row.bounds) if row is not None and row.bounds else None
    await save_values(session, tenant_id, level, scope, values, now, bounds=current_bounds)
    return values.get(key)


async def edge_layers(
    session: AsyncSession, tenant_id: str, store_id: str
) -> tuple[dict[str, int], dict[str, int]]:
    """The chain's and the store's edge session settings, as the store's edge receives them."""
    layers, _ = await load_layers(session, tenant_id, store_id=store_id)
    return model.edge_layer(layers.get(Level.CHAIN, {})), model.edge_layer(layers.get(Level.STORE, {}))


async def type_edge_layer(session: AsyncSession, tenant_id: str, room_type: str) -> dict[str, int]:
    """A room type's edge session settings."""
    row = await get_row(session, tenant_id, Level.ROOM_TYPE, room_type)
    return model.edge_layer(row.values if row is not None else {})


async def effective_grace(session: AsyncSession, tenant_id: str, store_id: str | None) -> int:
    """The early-arrival grace an edge of this store applies (store > chain > default)."""
    layers, _ = await load_layers(session, tenant_id, store_id=store_id)
    value = model.effective(layers)["early_grace_s"].value
    return int(value)


async def load_all(
    session: AsyncSession, tenant_id: str
) -> tuple[dict[tuple[Level, str], dict[str, Any]], dict[str, Bound]]:
    """Every level's values of a tenant (by level and scope), and HQ's bounds (for searches)."""
    rows = await session.execute(
        select(
            BookingSettings.level, BookingSettings.scope, BookingSettings.values, BookingSettings.bounds
        ).where(BookingSettings.tenant_id == tenant_id)
    )
    values: dict[tuple[Level, str], dict[str, Any]] = {}
    bounds: dict[str, Bound] = {}
    for level, scope, stored, raw_bounds in rows:
        values[(Level(level), scope)] = dict(stored or {})
        if level == Level.CHAIN.value and raw_bounds:
            bounds = model.check_bounds(raw_bounds)
    return values, bounds


def layers_of(
    every: Mapping[tuple[Level, str], Mapping[str, Any]], *, store_id: str, room_type: str
) -> dict[Level, dict[str, Any]]:
    """The layers of one store and room type out of load_all's values."""
    picks = {
        Level.CHAIN: (Level.CHAIN, CHAIN_SCOPE),
        Level.ROOM_TYPE: (Level.ROOM_TYPE, room_type),
        Level.STORE: (Level.STORE, store_id),
    }
    return {level: dict(every[key]) for level, key in picks.items() if key in every}


def _column_of(
    level: Level,
    tenant_id: SQLColumnExpression[str],
    scope: SQLColumnExpression[str] | str,
    bounds: bool = False,
) -> ScalarSelect[Any]:
    column = BookingSettings.bounds if bounds else BookingSettings.values
    return (
        select(column)
        .where(
            BookingSettings.tenant_id == tenant_id,
            BookingSettings.level == level.value,
            BookingSettings.scope == scope,
        )
        .scalar_subquery()
    )


def settings_columns(
    tenant_id: SQLColumnExpression[str],
    store_id: SQLColumnExpression[str],
    room_type: SQLColumnExpression[str],
) -> tuple[ScalarSelect[Any], ...]:
    """Scalar subqueries of (chain values, chain bounds, room type values, store values), to read the
    settings of a room in the same query as the room itself."""
    return (
        _column_of(Level.CHAIN, tenant_id, CHAIN_SCOPE),
        _column_of(Level.CHAIN, tenant_id, CHAIN_SCOPE, bounds=True),
        _column_of(Level.ROOM_TYPE, tenant_id, room_type),
        _column_of(Level.STORE, tenant_id, store_id),
    )


def layers_from(
    chain: dict[str, Any] | None,
    bounds: dict[str, Any] | None,
    room_type: dict[str, Any] | None,
    store: dict[str, Any] | None,
) -> tuple[dict[Level, dict[str, Any]], dict[str, Bound]]:
    """The layers and bounds out of settings_columns' values."""
    layers = {
        level: dict(values)
        for level, values in ((Level.CHAIN, chain), (Level.ROOM_TYPE, room_type), (Level.STORE, store))
        if values is not None
    }
    return layers, model.check_bounds(bounds) if bounds else {}
