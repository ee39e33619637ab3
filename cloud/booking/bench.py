"""The booking benchmark: many clients holding random free slots, then a race of many for one slot.

Everything goes through the service layer (`services.hold`) with one session per call on a
realistic connection pool, exactly as the HTTP routes do, so the figures are those of the booking
transaction itself: rules, pricing, the room lock, the overlap check, the insert and the audit row.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import queue
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


@dataclass(frozen=True, slots=True)
class _Share:
    """One worker's part of the run: what to hold, on which database, with what pool."""

    db_url: str
    setup: _Setup
    base: datetime
    clients: int
    race_clients: int
    concurrency: int
    pool_size: int
    seed: int | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one worker measured (times on the machine-wide monotonic clock, comparable across processes)."""

    held: int
    conflicts: int
    latencies: list[float]
    started: float
    ended: float
    race_latencies: list[float]
    race_winners: int


async def _hold_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    cipher: FieldCipher,
    setup: _Setup,
    room_id: str,
    start: datetime,
    end: datetime,
) -> None:
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


async def _run_share(share: _Share, ready: Callable[[], None] = lambda: None) -> _Outcome:
    """Hold share.clients random slots, then race share.race_clients for the race slot, on a pool of its own.

    `ready` is called once the pool is warm, before the timed part and again before the race (so
    the workers start together).
    """
    engine = make_engine(share.db_url, pool_size=share.pool_size, max_overflow=0)
    sessionmaker = make_sessionmaker(engine)
    clock = SystemClock()
    cipher = FieldCipher(secrets.token_bytes(32))  # holds only encrypt: any key will do
    rng = random.Random(share.seed)
    setup, base = share.setup, share.base
    try:
        async with sessionmaker() as session:  # open the pool's first connection outside the timing
            await session.execute(select(func.count()).select_from(Booking))
        await asyncio.to_thread(ready)
        latencies: list[float] = []
        conflicts = 0
        gate = asyncio.Semaphore(share.concurrency)

        async def client() -> bool:
            nonlocal conflicts
            for _ in range(MAX_TRIES):
                room_id = rng.choice(setup.room_ids)
                start, end = _random_slot(rng, base)
                async with gate:
                    took, error = await _timed(
                        lambda: _hold_once(sessionmaker, clock, cipher, setup, room_id, start, end)  # noqa: B023
                    )
                latencies.append(took)
                if error is None:
                    return True
                conflicts += 1
            return False

        started = time.monotonic()
        held = sum(await asyncio.gather(*(client() for _ in range(share.clients))))
        ended = time.monotonic()

        await asyncio.to_thread(ready)  # the racers of every worker go at once
        race_start = base + timedelta(days=2, hours=15)
        race_end = race_start + timedelta(hours=2)
        outcomes = await asyncio.gather(
            *(
                _timed(
                    lambda: _hold_once(
                        sessionmaker, clock, cipher, setup, setup.race_room_id, race_start, race_end
                    )
                )
                for _ in range(share.race_clients)
            )
        )
        winners = sum(1 for _, error in outcomes if error is None)
        return _Outcome(held, conflicts, latencies, started, ended, [t for t, _ in outcomes], winners)
    finally:
        await engine.dispose()


def _worker_main(share: _Share, barrier: Any, results: Any) -> None:
    """A worker process: its own event loop and pool; waits at barrier so all start together."""
    try:
        results.put(asyncio.run(_run_share(share, lambda: barrier.wait(timeout=60))))
    except BaseException as err:
        barrier.abort()
        results.put(err)
        raise


def _in_workers(shares: list[_Share]) -> list[_Outcome]:
    """Run each share in a process of its own (spawned: a fresh interpreter, as separate workers are)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(shares))
    results = context.Queue()
    processes = [
        context.Process(target=_worker_main, args=(share, barrier, results), name=f"booking-worker-{i}")
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    outcomes: list[_Outcome | BaseException] = []
    try:
        while len(outcomes) < len(processes):
            try:
                outcomes.append(results.get(timeout=1.0))
            except queue.Empty:
                # A worker that died before reporting (at import, say) must not leave us waiting.
                if sum(1 for p in processes if p.exitcode is not None) > len(outcomes):
                    raise RuntimeError("a booking worker exited without its figures") from None
    finally:
        for process in processes:
            process.join(timeout=30)
    done: list[_Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise RuntimeError("a booking worker failed") from outcome
        done.append(outcome)
    return done


async def bench_booking(
    db_url: str,
    *,
    clients: int = 1000,
    rooms: int = 50,
    race_clients: int = 100,
    concurrency: int = 8,
    pool_size: int | None = None,
    seed: int | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Run the booking benchmark on db_url (migrated first) and return its figures.

    (a) `clients` simulated customers each hold one random free slot (trying another on a 409)
    across `rooms` rooms, at most `concurrency` requests in flight (a cloud worker's share of the
    traffic) over a pool of `pool_size` connections: holds per second and the p99 latency of a hold
    call (pool wait included); then the overlaps found by querying (must be 0). (b) `race_clients`
    customers race for one slot at once: winners (must be 1) and the p99 latency.

    With `workers` > 1, the clients (and the racers) are split over that many processes, each a
    cloud worker with its own event loop, pool and `concurrency`, all on the one database; holds per
    second count from the first worker's start to the last one's end.

    The pool defaults to 10 connections on PostgreSQL and 1 on SQLite: SQLite has one writer at
    a time, and writers queued in the pool wait in order, where writers on many connections poll
    SQLite's busy handler and pile up a long tail.
    """
    await migrate(db_url)
    sqlite = is_sqlite(db_url)
    size = pool_size if pool_size is not None else (1 if sqlite else 10)
    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    sessionmaker = make_sessionmaker(engine)
    clock = SystemClock()
    try:
        setup = await _setup(sessionmaker, clock, FieldCipher(secrets.token_bytes(32)), rooms)
        base = clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        shares = [
            _Share(
                db_url,
                setup,
                base,
                clients=clients // workers + (1 if i < clients % workers else 0),
                race_clients=race_clients // workers + (1 if i < race_clients % workers else 0),
                concurrency=concurrency,
                pool_size=size,
                seed=None if seed is None else seed + i,
            )
            for i in range(workers)
        ]
        outcomes = (
            [await _run_share(shares[0])] if workers == 1 else await asyncio.to_thread(_in_workers, shares)
        )
        overlaps = await count_overlaps(sessionmaker, setup.store_id, clock.now())
    finally:
        await engine.dispose()
    held = sum(o.held for o in outcomes)
    elapsed = max(o.ended for o in outcomes) - min(o.started for o in outcomes)
    latencies = [t for o in outcomes for t in o.latencies]
    race_latencies = [t for o in outcomes for t in o.race_latencies]
    figures: dict[str, Any] = {
        "holds_per_s": round(held / elapsed, 1) if elapsed > 0 else 0.0,
        "p99_ms": round(percentile(latencies, 99), 1),
        "overlaps": overlaps,
        "race_clients": race_clients,
        "race_winners": sum(o.race_winners for o in outcomes),
        "race_p99_ms": round(percentile(race_latencies, 99), 1),
        "holds": held,
        "clients": clients,
        "rooms": rooms,
        "conflicts": sum(o.conflicts for o in outcomes),
        "p50_ms": round(percentile(latencies, 50), 1),
        "workers": workers,
        "concurrency": concurrency,
        "pool_size": size,
        "elapsed_s": round(elapsed, 2),
        "backend": make_url(db_url).get_backend_name(),
    }
    logger.info("booking bench", extra=figures)
    return figures
