"""Demo seeding: a tenant and API token, a region, two stores of six priced rooms; devices from the caller."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.model import Principal
from cloud.auth.services import add_token, create_tenant_with_token
from cloud.auth.tables import ApiToken
from cloud.booking import services as booking_services
from cloud.booking.tables import Booking
from cloud.clock import Clock, FakeClock, SystemClock
from cloud.crypto import FieldCipher
from cloud.devices import services as devices
from cloud.devices.tables import Device
from cloud.ids import token_hash
from cloud.tenancy import services as tenancy
from cloud.tenancy.tables import Region, Room, Store, Tenant
from cloud.uow import ChangeNotifier, UnitOfWork

DEMO_TENANT = "Gatehouse Demo Chain"
DEMO_REGION = "Demo Region"
DEMO_STORES = ("Demo Store A", "Demo Store B")
DEMO_ROOMS: tuple[tuple[str, str], ...] = (
    ("Mahjong 1", "mahjong"),
    ("Mahjong 2", "mahjong"),
    ("Mahjong 3", "mahjong"),
    ("KTV 1", "ktv"),
    ("KTV 2", "ktv"),
    ("Tea Room", "tea"),
)
SEED_ACTOR = "system:seed"
# Where the demo stores are (for the cross-store search).
DEMO_PLACES: dict[str, tuple[str, str]] = {
    "Demo Store A": ("Shanghai", "Xuhui"),
    "Demo Store B": ("Shanghai", "Jing'an"),
}


def _plan(weekday_day: int, weekday_night: int, holiday: int) -> dict[str, Any]:
    """A demo price plan (fen per hour): cheaper before noon, dearer evenings on holidays, night discount."""
    return {
        "weekday": [
            {"from": "00:00", "to": "12:00", "per_hour": weekday_day},
            {"from": "12:00", "to": "24:00", "per_hour": weekday_night},
        ],
        "holiday": [{"from": "00:00", "to": "24:00", "per_hour": holiday}],
        "peak": [{"from": "19:00", "to": "23:00", "pct": 20, "days": ["holiday"]}],
        "off_peak": [{"from": "02:00", "to": "10:00", "pct": 30}],
    }


# Per room kind: capacity (min, max), facilities, price plan. Stores stay open around the clock
# and use the chain's default booking settings, so an operator can book "from now, for an hour".
DEMO_ROOM_DETAILS: dict[str, tenancy.RoomDetails] = {
    "mahjong": tenancy.RoomDetails(
        capacity_min=2,
        capacity_max=4,
        facilities=("automatic mahjong table", "air conditioning"),
        price_plan=_plan(3000, 4000, 5000),
    ),
    "ktv": tenancy.RoomDetails(
        capacity_min=2,
        capacity_max=10,
        facilities=("big screen", "sound system", "air conditioning"),
        price_plan=_plan(6000, 9000, 12000),
    ),
    "tea": tenancy.RoomDetails(
        capacity_min=1, capacity_max=6, facilities=("tea table",), price_plan=_plan(4000, 5000, 6000)
    ),
}


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """A device the caller wants in a demo store: in the room named `room` (None: store-wide)."""

    kind: str
    protocol: str
    room: str | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class SeededRoom:
    """A demo room."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class SeededDevice:
    """A demo device as stored."""

    id: str
    room_id: str | None
    kind: str
    protocol: str
    config: dict[str, str]


@dataclass(frozen=True, slots=True)
class SeededStore:
    """A demo store with its rooms and devices."""

    id: str
    name: str
    rooms: tuple[SeededRoom, ...]
    devices: tuple[SeededDevice, ...]

    def room(self, name: str) -> SeededRoom:
        """The room called name."""
        return next(r for r in self.rooms if r.name == name)


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What seed_demo made or found."""

    tenant_id: str
    region_id: str
    api_token: str
    stores: tuple[SeededStore, ...]

    def store(self, name: str) -> SeededStore:
        """The store called name."""
        return next(s for s in self.stores if s.name == name)


async def _tenant_and_token(session: AsyncSession, clock: Clock, api_token: str | None) -> tuple[str, str]:
    tenant = await session.scalar(select(Tenant).where(Tenant.name == DEMO_TENANT))
    if tenant is None:
        if api_token is None:
            created, token = await create_tenant_with_token(
                session, DEMO_TENANT, clock=clock, token_name="demo"
            )
            return created.id, token
        created, _ = await create_tenant_with_token(session, DEMO_TENANT, clock=clock, token_name="seed")
        tenant_id = created.id
    else:
        tenant_id = tenant.id
    if api_token is not None and await session.get(ApiToken, token_hash(api_token)) is not None:
        return tenant_id, api_token
    token = await add_token(session, tenant_id, "demo", clock=clock, token=api_token)
    await session.commit()
    return tenant_id, token


async def _ensure_devices(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    store: Store,
    rooms: dict[str, Room],
    wanted: Sequence[DemoDevice],
) -> None:
    session = uow.session
    for spec in wanted:
        room_id = rooms[spec.room].id if spec.room is not None else None
        if spec.id is not None:
            if await session.get(Device, spec.id) is not None:
                continue
        else:
            existing = await session.scalar(
                select(Device.id).where(
                    Device.store_id == store.id,
                    Device.room_id.is_(None) if room_id is None else Device.room_id == room_id,
                    Device.kind == spec.kind,
                    Device.protocol == spec.protocol,
                )
            )
            if existing is not None:
                continue
        await devices.create_device(
            uow,
            clock,
            principal,
            kind=spec.kind,
            protocol=spec.protocol,
            config=spec.config,
            room_id=room_id,
            store_id=store.id,
            device_id=spec.id,
        )


async def seed_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    cipher: FieldCipher,
    clock: Clock | None = None,
    notifier: ChangeNotifier | None = None,
    devices_by_store: Mapping[str, Sequence[DemoDevice]] | None = None,
    api_token: str | None = None,
    timezone: str = "Asia/Shanghai",
) -> DemoSeed:
    """Create (or find, by name) the demo tenant, region, stores, rooms and the caller's devices.

    `devices_by_store` maps a store name ("Demo Store A") to its devices. A given `api_token` is
    registered as is (so a rerun can keep using it); otherwise a new token is made on every run.
    """
    clock = clock if clock is not None else SystemClock()
    wanted = devices_by_store or {}
    async with sessionmaker() as session:
        tenant_id, token = await _tenant_and_token(session, clock, api_token)
        principal = Principal(tenant_id=tenant_id, actor=SEED_ACTOR)
        uow = UnitOfWork(session, notifier)
        region = await session.scalar(
            select(Region).where(Region.tenant_id == tenant_id, Region.name == DEMO_REGION)
        )
        if region is None:
            region = await tenancy.create_region(uow, clock, principal, DEMO_REGION)
        seeded: list[SeededStore] = []
        for store_name in DEMO_STORES:
            store = await session.scalar(
                select(Store).where(Store.tenant_id == tenant_id, Store.name == store_name)
            )
            city, area = DEMO_PLACES.get(store_name, ("", ""))
            if store is None:
                store = await tenancy.create_store(
                    uow,
                    clock,
                    cipher,
                    principal,
                    region_id=region.id,
                    name=store_name,
                    timezone=timezone,
                    city=city,
                    area=area,
                )
            rooms = {r.name: r for r in await session.scalars(select(Room).where(Room.store_id == store.id))}
            for room_name, kind in DEMO_ROOMS:
                details = DEMO_ROOM_DETAILS.get(kind)
                if room_name not in rooms:
                    rooms[room_name] = await tenancy.create_room(
                        uow, clock, principal, store_id=store.id, name=room_name, kind=kind, details=details
                    )
                elif rooms[room_name].price_plan is None and details is not None:
                    # A database seeded before rooms had prices: give them the demo details once.
                    rooms[room_name] = await tenancy.update_room(
                        uow,
                        clock,
                        principal,
                        rooms[room_name].id,
                        tenancy.RoomChanges(
                            capacity_min=details.capacity_min,
                            capacity_max=details.capacity_max,
                            facilities=details.facilities,
                            price_plan=details.price_plan,
                        ),
                    )
            await _ensure_devices(uow, clock, principal, store, rooms, wanted.get(store_name, ()))
            stored = await session.scalars(
                select(Device).where(Device.store_id == store.id).order_by(Device.id)
            )
            seeded.append(
                SeededStore(
                    id=store.id,
                    name=store.name,
                    rooms=tuple(SeededRoom(rooms[n].id, n, k) for n, k in DEMO_ROOMS),
                    devices=tuple(
                        SeededDevice(d.id, d.room_id, d.kind, d.protocol, dict(d.config)) for d in stored
                    ),
                )
            )
        await session.commit()
    return DemoSeed(tenant_id=tenant_id, region_id=region.id, api_token=token, stores=tuple(seeded))


# ---- booking history, so the demo's dashboards have something to show ----

HISTORY_CUSTOMER = "Demo Guest"
HISTORY_PHONE = "13900001234"
HISTORY_ACTOR = "system:seed"
# Past bookings end this long before now at the latest, so none blocks a booking "from now".
HISTORY_CLEARANCE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class _Planned:
    room_id: str
    starts_at: datetime
    ends_at: datetime
    outcome: str  # completed, no_show, cancelled


def plan_day(
    rooms: Sequence[SeededRoom], day: date, tz: ZoneInfo, not_after: datetime, seed: str
) -> list[_Planned]:
    """A plausible, repeatable day of a store: afternoons and evenings, a few no-shows and cancellations."""
    rnd = random.Random(seed)
    taken: dict[str, list[tuple[datetime, datetime]]] = {}
    planned: list[_Planned] = []
    for _ in range(rnd.randint(4, 9)):
        room = rnd.choice(list(rooms))
        hour = rnd.choice((10, 12, 13, 14, 15, 16, 18, 19, 19, 20, 20, 21))
        start = datetime.combine(day, time(hour, rnd.choice((0, 30))), tzinfo=tz).astimezone(UTC)
        end = start + timedelta(minutes=60 * rnd.randint(1, 3))
        gap = timedelta(minutes=30)  # the default cleaning gap
        if end > not_after or any(start < b + gap and a < end + gap for a, b in taken.get(room.id, [])):
            continue
        taken.setdefault(room.id, []).append((start, end))
        outcome = rnd.choices(("completed", "no_show", "cancelled"), weights=(80, 10, 10))[0]
        planned.append(_Planned(room.id, start, end, outcome))
    return sorted(planned, key=lambda p: p.starts_at)


async def _play(
    uow: UnitOfWork, clock: FakeClock, cipher: FieldCipher, principal: Principal, plan: _Planned
) -> None:
    """One booking's life, each step at the time it happened: hold, pay, then come, or not, or cancel."""
    clock.set(plan.starts_at - timedelta(hours=4))
    held = await booking_services.hold(
        uow,
        clock,
        cipher,
        principal,
        room_id=plan.room_id,
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        party_size=2,
        customer_name=HISTORY_CUSTOMER,
        phone=HISTORY_PHONE,
    )
    ref, price = held.ref, held.price_total
    clock.advance(120)
    await booking_services.confirm_payment(
        uow,
        clock,
        ref=ref,
        payment_ref=f"demo-history:{ref}",
        amount_paid=price,
        tenant_id=principal.tenant_id,
        actor=HISTORY_ACTOR,
    )
    if plan.outcome == "cancelled":
        clock.set(plan.starts_at - timedelta(minutes=90))  # the 50% tier of the default terms
        cancelled = await booking_services.cancel_booking(uow, clock, principal, ref)
        if cancelled.refund_amount:
            clock.advance(600)
            await booking_services.record_refund(
                uow,
                clock,
                ref=ref,
                refund_ref=f"demo-refund:{ref}",
                tenant_id=principal.tenant_id,
                actor=HISTORY_ACTOR,
            )
    elif plan.outcome == "completed":
        clock.set(plan.starts_at + timedelta(minutes=3))
        await booking_services.mark_redeemed(
            uow.session, clock, store_id=held.store_id, ref=ref, actor=HISTORY_ACTOR
        )
        await uow.commit()
        clock.set(plan.ends_at)
        await booking_services.complete_booking(uow, clock, principal, ref)


async def seed_history(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    cipher: FieldCipher,
    seed: DemoSeed,
    days: int = 7,
    clock: Clock | None = None,
    notifier: ChangeNotifier | None = None,
) -> int:
    """Past bookings of the demo stores (paid, redeemed, no-shows, cancellations) for the last `days` days.

    Each booking goes through the booking services on a clock set to the moment each step
    happened, so statuses, payments, refunds and the audit log agree. A store's day that already
    has demo history is left alone (reruns add only the missing days). Returns how many were made.
    """
    now = (clock or SystemClock()).now()
    made = 0
    principal = Principal(tenant_id=seed.tenant_id, actor=HISTORY_ACTOR)
    async with sessionmaker() as session:
        uow = UnitOfWork(session, notifier)
        for store in seed.stores:
            row = await session.get(Store, store.id)
            if row is None:
                continue
            tz = ZoneInfo(row.timezone)
            today = now.astimezone(tz).date()
            for back in range(days, -1, -1):
                day = today - timedelta(days=back)
                lo = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
                hi = lo + timedelta(days=1)
                seen = await session.scalar(
                    select(Booking.ref).where(
                        Booking.store_id == store.id,
                        Booking.customer_name == HISTORY_CUSTOMER,
                        Booking.starts_at >= lo,
                        Booking.starts_at < hi,
                    )
                )
                await session.commit()
                if seen is not None:
                    continue
                for plan in plan_day(store.rooms, day, tz, now - HISTORY_CLEARANCE, f"{store.id}:{day}"):
                    await _play(uow, FakeClock(now), cipher, principal, plan)
                    made += 1
    return made
