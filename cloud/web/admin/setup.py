"""Admin pages that set the chain up: stores, rooms (with price plans), devices and booking settings.

Writes go through the domains' services with the signed-in user's principal (they scope and audit);
a refusal is shown next to the form, which keeps what was typed, with the service's 4xx status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Action
from cloud.deps import ClockDep, SessionDep, UowDep
from cloud.devices import services as device_services
from cloud.devices.tables import Device
from cloud.errors import DomainError, Invalid
from cloud.problems import status_for
from cloud.reports import health
from cloud.rules import services as rules_services
from cloud.rules.model import SPECS, Kind, Level
from cloud.tenancy import services as tenancy
from cloud.tenancy.model import WEEKDAYS
from cloud.tenancy.tables import Region, Room, Store
from cloud.web.admin.tables import TableView, cell
from cloud.web.admin.web import AdminRoute, AdminUser, need, render
from cloud.web.common import WebUser

router = APIRouter(route_class=AdminRoute)

ROOM_FIELDS = ("name", "kind", "room_type", "capacity_min", "capacity_max", "facilities", "price_plan")
DEVICE_FIELDS = ("room_id", "kind", "protocol", "id", "config", "zone")
EXAMPLE_PLAN = {
    "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 4000}],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 6000}],
}


def field_of(err: DomainError, fields: tuple[str, ...]) -> str:
    """The form field a service's error names ("price_plan.weekday[0].per_hour" -> "price_plan")."""
    name = (err.field or "").replace("[", ".").split(".")[0]
    return name if name in fields else "_form"


def errors_of(err: DomainError, fields: tuple[str, ...]) -> dict[str, str]:
    """The error shown next to its field (the whole message, its code and the exact place)."""
    where = f" ({err.field})" if err.field and "." in err.field.replace("[", ".") else ""
    return {field_of(err, fields): f"{err.detail or err.code}{where} [{err.code}]"}


def _int(form: Mapping[str, str], name: str, *, required: bool) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        if required:
            raise Invalid(f"{name} is required", code="missing_value", field=name)
        return None
    try:
        return int(text)
    except ValueError as err:
        raise Invalid(f"{name} must be a whole number", code="not_a_number", field=name) from err


def _plan(form: Mapping[str, str]) -> dict[str, Any] | None:
    text = form.get("price_plan", "").strip()
    if not text:
        return None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as err:
        raise Invalid(
            f"price plan is not JSON: {err.msg} at line {err.lineno} column {err.colno}",
            code="invalid_json",
            field="price_plan",
        ) from err
    if not isinstance(plan, dict):
        raise Invalid("price plan must be a JSON object", code="invalid_json", field="price_plan")
    return plan


def _facilities(form: Mapping[str, str]) -> list[str]:
    text = form.get("facilities", "")
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


async def _store_or_first(
    session: AsyncSession, user: WebUser, store_id: str | None
) -> tuple[list[Store], Store | None]:
    stores = await tenancy.list_stores(session, user.principal)
    if store_id:
        return stores, await tenancy.get_store(session, user.principal, store_id)
    return stores, stores[0] if stores else None


# ---- stores ----


@router.get("/stores")
async def stores_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """The stores in the user's reach."""
    need(user, Action.TENANCY_READ)
    stores = await tenancy.list_stores(session, user.principal)
    regions = {r.id: r.name for r in await tenancy.list_regions(session, user.principal)}
    counts: dict[str, int] = {
        sid: int(n)
        for sid, n in await session.execute(
            select(Room.store_id, func.count())
            .where(Room.store_id.in_([s.id for s in stores]))
            .group_by(Room.store_id)
        )
    }
    table = TableView(
        "stores", ("store", "id", "region", "city", "area", "time zone", "rooms", "opening hours")
    )
    for s in stores:
        table.add(
            cell(s.name, href=f"/admin/stores/{s.id}"),
            s.id,
            regions.get(s.region_id, s.region_id),
            s.city,
            s.area,
            s.timezone,
            int(counts.get(s.id, 0)),
            "around the clock" if s.opening_hours is None else "set",
        )
    return render(request, user, "stores.html", tables=[table])


@router.get("/stores/{store_id}")
async def store_page(request: Request, store_id: str, user: AdminUser, session: SessionDep) -> Response:
    """One store: its place, opening hours, closed days and rooms."""
    need(user, Action.TENANCY_READ)
    store = await tenancy.get_store(session, user.principal, store_id)
    region = await session.get(Region, store.region_id)
    rooms = await tenancy.list_rooms(session, user.principal, store.id)
    hours = store.opening_hours or {}
    week = [
        (day, ", ".join(hours.get(day, [])) if store.opening_hours else "00:00-24:00") for day in WEEKDAYS
    ]
    return render(
        request,
        user,
        "store.html",
        tables=[_rooms_table(rooms)],
        store=store,
        region=region.name if region else store.region_id,
        week=week,
    )


# ---- rooms ----


def _rooms_table(rooms: list[Room]) -> TableView:
    table = TableView("rooms", ("room", "id", "kind", "type", "capacity", "facilities", "price plan"))
    for r in rooms:
        capacity = f"{r.capacity_min}–{r.capacity_max}" if r.capacity_max else f"{r.capacity_min}+"
        table.add(
            cell(r.name, href=f"/admin/rooms/{r.id}"),
            r.id,
            r.kind,
            r.room_type,
            capacity,
            ", ".join(r.facilities or []),
            "set" if r.price_plan else "none",
        )
    return table


async def _rooms_view(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    store_id: str | None,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    stores, store = await _store_or_first(session, user, store_id)
    rooms = await tenancy.list_rooms(session, user.principal, store.id) if store else []
    return render(
        request,
        user,
        "rooms.html",
        status_code=status_for(error) if error else 200,
        tables=[_rooms_table(rooms)],
        stores=stores,
        store=store,
        values=values or {"capacity_min": "1", "price_plan": json.dumps(EXAMPLE_PLAN, indent=2)},
        errors=errors or {},
        error=error,
    )


@router.get("/rooms")
async def rooms_page(
    request: Request, user: AdminUser, session: SessionDep, store_id: str | None = None
) -> Response:
    """The rooms of one store (the first one by default), and a form for a new room."""
    need(user, Action.TENANCY_READ)
    return await _rooms_view(request, user, session, store_id)


@router.post("/rooms")
async def create_room(
    request: Request, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Create a room from the form (errors shown by field, the form keeps its values)."""
    need(user, Action.ROOMS_WRITE)
    form = await _form(request)
    store_id = form.get("store_id", "")
    try:
        details = tenancy.RoomDetails(
            room_type=form.get("room_type", "").strip() or None,
            capacity_min=_int(form, "capacity_min", required=False) or 1,
            capacity_max=_int(form, "capacity_max", required=False),
            facilities=_facilities(form),
            price_plan=_plan(form),
        )
        room = await tenancy.create_room(
            uow,
            clock,
            user.principal,
            store_id=store_id,
            name=form.get("name", ""),
            kind=form.get("kind", "").strip(),
            details=details,
        )
    except DomainError as err:
        await uow.rollback()
        return await _rooms_view(
            request,
            user,
            session,
            store_id or None,
            values=form,
            errors=errors_of(err, ROOM_FIELDS),
            error=err,
        )
    return RedirectResponse(f"/admin/rooms?store_id={room.store_id}&created={room.id}", status_code=303)


def _room_values(room: Room) -> dict[str, str]:
    return {
        "name": room.name,
        "kind": room.kind,
        "room_type": room.room_type,
        "capacity_min": str(room.capacity_min),
        "capacity_max": "" if room.capacity_max is None else str(room.capacity_max),
        "facilities": ", ".join(room.facilities or []),
        "price_plan": json.dumps(room.price_plan, indent=2, ensure_ascii=False) if room.price_plan else "",
    }


async def _room_view(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    room_id: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    room, store = await tenancy.get_room(session, user.principal, room_id)
    return render(
        request,
        user,
        "room.html",
        status_code=status_for(error) if error else 200,
        room=room,
        store=store,
        values=values or _room_values(room),
        errors=errors or {},
        error=error,
    )


@router.get("/rooms/{room_id}")
async def room_page(request: Request, room_id: str, user: AdminUser, session: SessionDep) -> Response:
    """One room and the form to change it."""
    need(user, Action.TENANCY_READ)
    return await _room_view(request, user, session, room_id)


@router.post("/rooms/{room_id}")
async def update_room(
    request: Request, room_id: str, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Change a room from the form (a blank maximum or price plan drops it)."""
    need(user, Action.ROOMS_WRITE)
    form = await _form(request)
    try:
        capacity_max = _int(form, "capacity_max", required=False)
        plan = _plan(form)
        changes = tenancy.RoomChanges(
            name=form.get("name"),
            room_type=form.get("room_type", "").strip() or None,
            capacity_min=_int(form, "capacity_min", required=True),
            capacity_max=capacity_max,
            clear_capacity_max=capacity_max is None,
            facilities=_facilities(form),
            price_plan=plan,
            clear_price_plan=plan is None,
        )
        room = await tenancy.update_room(uow, clock, user.principal, room_id, changes)
    except DomainError as err:
        await uow.rollback()
        return await _room_view(
            request, user, session, room_id, values=form, errors=errors_of(err, ROOM_FIELDS), error=err
        )
    return RedirectResponse(f"/admin/rooms?store_id={room.store_id}&updated={room.id}", status_code=303)


@router.post("/rooms/{room_id}/delete")
async def delete_room(
    request: Request, room_id: str, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Delete a room that never had a booking (with its devices)."""
    need(user, Action.ROOMS_WRITE)
    _, store = await tenancy.get_room(session, user.principal, room_id)
    try:
        await tenancy.delete_room(uow, clock, user.principal, room_id)
    except DomainError as err:
        await uow.rollback()
        return await _room_view(request, user, session, room_id, error=err)
    return RedirectResponse(f"/admin/rooms?store_id={store.id}&deleted={room_id}", status_code=303)


# ---- devices ----


def _devices_table(rows: list[health.DeviceHealth]) -> TableView:
    table = TableView(
        "devices", ("device", "room", "kind", "protocol", "state", "status", "last report (UTC)", "config")
    )
    for r in rows:
        d = r.device
        table.add(
            cell(d.id, href=f"/admin/devices/{d.id}"),
            r.room_name or "(store-wide)",
            d.kind,
            d.protocol,
            r.state,
            cell(r.status, css=r.status),
            r.reported_at,
            " ".join(f"{k}={v}" for k, v in sorted(d.config.items())),
        )
    return table


def _config(form: Mapping[str, str]) -> dict[str, str]:
    config: dict[str, str] = {}
    for number, line in enumerate(form.get("config", "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise Invalid(f"config line {number} is not key=value", code="invalid_config", field="config")
        config[key.strip()] = value.strip()
    return config


async def _devices_view(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    store_id: str | None,
    room_id: str | None,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    stores, store = await _store_or_first(session, user, store_id)
    rooms = await tenancy.list_rooms(session, user.principal, store.id) if store else []
    rows = await health.device_health(session, user.principal, store.id) if store else []
    if room_id:
        rows = [r for r in rows if r.device.room_id == room_id]
    return render(
        request,
        user,
        "devices.html",
        status_code=status_for(error) if error else 200,
        tables=[_devices_table(rows)],
        stores=stores,
        store=store,
        rooms=rooms,
        room_id=room_id or "",
        values=values or {"room_id": room_id or ""},
        errors=errors or {},
        error=error,
    )


@router.get("/devices")
async def devices_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    store_id: str | None = None,
    room_id: str | None = None,
) -> Response:
    """The devices of a store (or one room) with their online state, and a form for a new device."""
    need(user, Action.DEVICES_READ)
    return await _devices_view(request, user, session, store_id, room_id)


@router.post("/devices")
async def create_device(
    request: Request, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Register a device in a room or store-wide."""
    need(user, Action.DEVICES_WRITE)
    form = await _form(request)
    store_id = form.get("store_id", "")
    try:
        device = await device_services.create_device(
            uow,
            clock,
            user.principal,
            kind=form.get("kind", "").strip(),
            protocol=form.get("protocol", "").strip(),
            config=_config(form),
            room_id=form.get("room_id") or None,
            store_id=store_id or None,
            device_id=form.get("id", "").strip() or None,
        )
    except DomainError as err:
        await uow.rollback()
        return await _devices_view(
            request,
            user,
            session,
            store_id or None,
            None,
            values=form,
            errors=errors_of(err, DEVICE_FIELDS),
            error=err,
        )
    return RedirectResponse(f"/admin/devices?store_id={device.store_id}&created={device.id}", status_code=303)


def _device_values(device: Device) -> dict[str, str]:
    return {
        "room_id": device.room_id or "",
        "kind": device.kind,
        "protocol": device.protocol,
        "zone": device.zone or "",
        "config": "\n".join(f"{k}={v}" for k, v in sorted(device.config.items())),
    }


async def _device_view(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    device_id: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    device = await device_services.get_device(session, user.principal, device_id)
    store = await tenancy.get_store(session, user.principal, device.store_id)
    rooms = await tenancy.list_rooms(session, user.principal, store.id)
    return render(
        request,
        user,
        "device.html",
        status_code=status_for(error) if error else 200,
        device=device,
        store=store,
        rooms=rooms,
        values=values or _device_values(device),
        errors=errors or {},
        error=error,
    )


@router.get("/devices/{device_id}")
async def device_page(request: Request, device_id: str, user: AdminUser, session: SessionDep) -> Response:
    """One device and the form to change it in place (room, kind, protocol, config, zone)."""
    need(user, Action.DEVICES_READ)
    return await _device_view(request, user, session, device_id)


@router.post("/devices/{device_id}")
async def update_device(
    request: Request, device_id: str, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Change a device in place; its store's edge rebuilds it."""
    need(user, Action.DEVICES_WRITE)
    form = await _form(request)
    try:
        changes = device_services.DeviceChanges(
            move=True,
            room_id=form.get("room_id") or None,
            kind=form.get("kind", "").strip(),
            protocol=form.get("protocol", "").strip(),
            config=_config(form),
            zone=form.get("zone", "").strip(),
        )
        device = await device_services.update_device(uow, clock, user.principal, device_id, changes)
    except DomainError as err:
        await uow.rollback()
        return await _device_view(
            request, user, session, device_id, values=form, errors=errors_of(err, DEVICE_FIELDS), error=err
        )
    return RedirectResponse(f"/admin/devices?store_id={device.store_id}&updated={device.id}", status_code=303)


@router.post("/devices/{device_id}/delete")
async def delete_device(
    request: Request, device_id: str, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Remove a device."""
    need(user, Action.DEVICES_WRITE)
    device = await device_services.get_device(session, user.principal, device_id)
    store_id = device.store_id
    await device_services.delete_device(uow, clock, user.principal, device_id)
    return RedirectResponse(f"/admin/devices?store_id={store_id}&deleted={device_id}", status_code=303)


# ---- booking settings ----

INT_KEYS = tuple(key for key, spec in SPECS.items() if spec.kind is Kind.INT and Level.STORE in spec.levels)


async def _settings_view(
    request: Request,
    user: WebUser,
    session: AsyncSession,
    store_id: str | None,
    room_type: str | None,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    stores, store = await _store_or_first(session, user, store_id)
    view = await rules_services.effective_settings(
        session, user.principal, store_id=store.id if store else None, room_type=room_type or None
    )
    chain = await rules_services.get_level(session, user.principal, Level.CHAIN)
    own = await rules_services.get_level(session, user.principal, Level.STORE, store.id) if store else None
    room_types = sorted(
        set(await session.scalars(select(Room.room_type).where(Room.store_id == store.id)))
        if store
        else set()
    )
    table = TableView("effective", ("setting", "value", "from level", "unit", "chain value", "HQ bound"))
    for key, eff in view.settings.items():
        bound = view.bounds.get(key)
        value = eff.value if isinstance(eff.value, int) else json.dumps(eff.value)
        chain_value = chain.values.get(key)
        table.add(
            key,
            value,
            cell(eff.level.value, css=f"level-{eff.level.value}"),
            SPECS[key].unit,
            ""
            if chain_value is None
            else (chain_value if isinstance(chain_value, int) else json.dumps(chain_value)),
            "" if bound is None else json.dumps(bound.as_json()),
        )
    shown = values
    if shown is None:
        own_values = own.values if own else {}
        shown = {k: str(own_values[k]) for k in INT_KEYS if k in own_values}
    return render(
        request,
        user,
        "settings.html",
        status_code=status_for(error) if error else 200,
        tables=[table],
        stores=stores,
        store=store,
        room_type=room_type or "",
        room_types=room_types,
        keys=INT_KEYS,
        specs=SPECS,
        bounds=view.bounds,
        values=shown,
        errors=errors or {},
        error=error,
    )


@router.get("/settings")
async def settings_page(
    request: Request,
    user: AdminUser,
    session: SessionDep,
    store_id: str | None = None,
    room_type: str | None = None,
) -> Response:
    """Each setting's effective value for a store (and room type), its level, and HQ's bounds."""
    need(user, Action.SETTINGS_READ)
    return await _settings_view(request, user, session, store_id, room_type)


@router.post("/settings/stores/{store_id}")
async def set_store_settings(
    request: Request, store_id: str, user: AdminUser, session: SessionDep, uow: UowDep, clock: ClockDep
) -> Response:
    """Replace what a store overrides (blank: inherit), inside HQ's bounds."""
    need(user, Action.STORE_SETTINGS_WRITE)
    form = await _form(request)
    try:
        values = {key: value for key in INT_KEYS if (value := _int(form, key, required=False)) is not None}
        await rules_services.set_store(uow, clock, user.principal, store_id, values)
    except DomainError as err:
        await uow.rollback()
        return await _settings_view(
            request, user, session, store_id, None, values=form, errors=errors_of(err, INT_KEYS), error=err
        )
    return RedirectResponse(f"/admin/settings?store_id={store_id}&saved=1", status_code=303)
