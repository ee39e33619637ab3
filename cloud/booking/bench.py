"""The booking benchmark: many clients holding random free slots, then a race of many for one slot.

Everything goes through the service layer (`services.hold`) with one session per call on a
realistic connection pool, exactly as the HTTP routes do, so the figures are those of the booking
transaction itself: rules, pricing, the room lock, the overlap check, the insert and the audit row.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from cloud.auth.model import Principal
from cloud.auth.services import create_tenant_with_token
from cloud.booking import model, services
from cloud.booking.model import SlotTaken
from cloud.booking.tables import Booking
from cloud.clock import Clock, SystemClock
from cloud.crypto import FieldCipher
from cloud.db import is_sqlite, make_engine, make_sessionmaker, migrate
from cloud.tenancy import services as tenancy
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)

BENCH_PLAN: dict[str, Any] = {
    "weekday": [
        {"from": "00:00", "to": "12:00", "per_hour": 3000},
        {"from": "12:00", "to": "24:00", "per_hour": 4000},
    ],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 5000}],
    "peak": [{"from": "19:00", "to": "23:00", "pct": 20, "days": ["holiday"]}],
    "off_peak": [{"from": "02:00", "to": "10:00", "pct": 30}],
}
DURATIONS_MIN = (60, 90, 120, 180)
MAX_TRIES = 8
DAYS_AHEAD = 14


@dataclass(frozen=True, slots=True)
class _Setup:
    principal: Principal
    store_id: str
    room_ids: list[str]
    race_room_id: str


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


async def _setup(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, cipher: FieldCipher, rooms: int
) -> _Setup:
    async with sessionmaker() as session:
        tenant, _ = await create_tenant_with_token(session, f"Bench {uuid.uuid4().hex[:8]}", clock=clock)
        principal = Principal(tenant_id=tenant.id, actor="bench")
        uow = UnitOfWork(session)
        region = await tenancy.create_region(uow, clock, principal, "Bench region")
        store = await tenancy.create_store(
            uow, clock, cipher, principal, region_id=region.id, name="Bench store", timezone="Asia/Shanghai"
        )
        details = tenancy.RoomDetails(capacity_min=1, capacity_max=8, price_plan=BENCH_PLAN)
        room_ids = []
        for i in range(rooms + 1):
            room = await tenancy.create_room(
                uow,
                clock,
                principal,
                store_id=store.id,
                name=f"Room {i:03d}",
                kind="mahjong",
                details=details,
            )
            room_ids.append(room.id)
    return _Setup(principal, store.id, room_ids[:-1], room_ids[-1])


def _random_slot(rng: random.Random, base: datetime) -> tuple[datetime, datetime]:
    start = base + timedelta(days=rng.randrange(1, DAYS_AHEAD), minutes=30 * rng.randrange(0, 44))
    return start, start + timedelta(minutes=rng.choice(DURATIONS_MIN))


async def _timed(call: Callable[[], Awaitable[object]]) -> tuple[float, BaseException | None]:
    started = time.perf_counter()
    try:
        await call()
    except SlotTaken as err:
        return (time.perf_counter() - started) * 1000, err
    return (time.perf_counter() - started) * 1000, None


async def count_overlaps(sessionmaker: async_sessionmaker[AsyncSession], store_id: str, now: datetime) -> int:
    """Pairs of live bookings of one room whose occupied ranges overlap (must be 0)."""
    a, b = aliased(Booking), aliased(Booking)
    occupying = [s.value for s in model.OCCUPYING]

    def live(row: Any) -> ColumnElement[bool]:
        return or_(row.status != model.BookingStatus.HELD.value, row.hold_expires_at > now)

    async with sessionmaker() as session:
        value = await session.scalar(
            select(func.count())
            .select_from(a)
            .join(b, (a.room_id == b.room_id) & (a.ref < b.ref))
            .where(
                a.store_id == store_id,
                a.status.in_(occupying),
                b.status.in_(occupying),
                live(a),
                live(b),
                a.starts_at < b.occupied_until,
                b.starts_at < a.occupied_until,
            )
        )
    return int(value or 0)


async def bench_booking(
    db_url: str,
    *,
    clients: int = 1000,
    rooms: int = 50,
    race_clients: int = 100,
    concurrency: int = 8,
    pool_size: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run the booking benchmark on db_url (migrated first) and return its figures.

    (a) `clients` simulated customers each hold one random free slot (trying another on a 409)
    across `rooms` rooms, at most `concurrency` requests in flight (a cloud worker's share of the
    traffic) over a pool of `pool_size` connections: holds per second and the p99 latency of a hold
    call (pool wait included); then the overlaps found by querying (must be 0). (b) `race_clients`
    customers race for one slot at once: winners (must be 1) and the p99 latency.

    The pool defaults to 10 connections on PostgreSQL and 1 on SQLite: SQLite has one writer at
    a time, and writers queued in the pool wait in order, where writers on many connections poll
    SQLite's busy handler and pile up a long tail.
    """
    await migrate(db_url)
    sqlite = is_sqlite(db_url)
    size = pool_size if pool_size is not None else (1 if sqlite else 10)
    engine = make_engine(db_url, pool_size=size, max_overflow=0)
    sessionmaker = make_sessionmaker(engine)
    clock = SystemClock()
    cipher = FieldCipher(secrets.token_bytes(32))
    rng = random.Random(seed)
    try:
        setup = await _setup(sessionmaker, clock, cipher, rooms)
        base = clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

        async def hold_once(room_id: str, start: datetime, end: datetime) -> None:
            async with sessionmaker() as session:
                await services.hold(
                    UnitOfWork(session),
                    clock,
                    cipher,
                    setup.principal,
                    room_id=room_id,
                    starts_at=start,
                    ends_at=end,
                    party_size=2,
                    customer_name="Bench Customer",
                    phone="13800000000",
                    source="bench",
                )

        latencies: list[float] = []
        conflicts = 0
        gate = asyncio.Semaphore(concurrency)

        async def client() -> bool:
            nonlocal conflicts
            for _ in range(MAX_TRIES):
                room_id = rng.choice(setup.room_ids)
                start, end = _random_slot(rng, base)
                async with gate:
                    took, error = await _timed(lambda: hold_once(room_id, start, end))  # noqa: B023
                latencies.append(took)
                if error is None:
                    return True
                conflicts += 1
            return False

        started = time.perf_counter()
        held = sum(await asyncio.gather(*(client() for _ in range(clients))))
        elapsed = time.perf_counter() - started
        overlaps = await count_overlaps(sessionmaker, setup.store_id, clock.now())

        race_start = base + timedelta(days=2, hours=15)
        race_end = race_start + timedelta(hours=2)
        outcomes = await asyncio.gather(
            *(
                _timed(lambda: hold_once(setup.race_room_id, race_start, race_end))
                for _ in range(race_clients)
            )
        )
        winners = sum(1 for _, error in outcomes if error is None)
        overlaps += await count_overlaps(sessionmaker, setup.store_id, clock.now())
        backend = make_url(db_url).get_backend_name()
        figures: dict[str, Any] = {
            "holds_per_s": round(held / elapsed, 1) if elapsed > 0 else 0.0,
            "p99_ms": round(percentile(latencies, 99), 1),
            "overlaps": overlaps,
            "race_clients": race_clients,
            "race_winners": winners,
            "race_p99_ms": round(percentile([took for took, _ in outcomes], 99), 1),
            "holds": held,
            "clients": clients,
            "rooms": rooms,
            "conflicts": conflicts,
            "p50_ms": round(percentile(latencies, 50), 1),
            "concurrency": concurrency,
            "pool_size": size,
            "elapsed_s": round(elapsed, 2),
            "backend": backend,
        }
        logger.info("booking bench", extra=figures)
        return figures
    finally:
        await engine.dispose()
