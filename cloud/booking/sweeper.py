"""The booking sweeper: releases unpaid holds past their deadline and closes finished redeemed bookings.

Expired holds never block a new booking (the booking transaction expires them itself); the
sweeper makes the books say so too. Run `run_sweeper` as a task of the cloud process: several
cloud workers may each run one (rows are claimed with SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.booking import lifecycle
from cloud.booking.model import BookingStatus
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.uow import ChangeNotifier, UnitOfWork

logger = logging.getLogger(__name__)

SWEEPER_ACTOR = "system:sweeper"
BATCH = 200
DEFAULT_EVERY_S = 15.0


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did."""

    expired: int
    completed: int


async def _batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    notifier: ChangeNotifier | None,
    status: BookingStatus,
) -> int:
    now = clock.now()
    async with sessionmaker() as session:
        uow = UnitOfWork(session, notifier)
        query = select(Booking).where(Booking.status == status.value)
        if status is BookingStatus.HELD:
            query = query.where(Booking.hold_expires_at <= now).order_by(Booking.hold_expires_at)
        else:
            query = query.where(Booking.occupied_until <= now).order_by(Booking.occupied_until)
        rows = list(await session.scalars(query.limit(BATCH).with_for_update(skip_locked=True)))
        for booking in rows:
            if status is BookingStatus.HELD:
                await lifecycle.expire(session, booking, now=now, actor=SWEEPER_ACTOR)
            else:
                await lifecycle.complete(session, booking, now=now, actor=SWEEPER_ACTOR)
        await uow.commit()
    return len(rows)


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, notifier: ChangeNotifier | None = None
) -> SweepReport:
    """Expire every hold past its deadline and complete redeemed bookings whose cleaning is over."""
    counts: dict[BookingStatus, int] = {}
    for status in (BookingStatus.HELD, BookingStatus.REDEEMED):
        total = 0
        while True:
            done = await _batch(sessionmaker, clock, notifier, status)
            total += done
            if done < BATCH:
                break
        counts[status] = total
    report = SweepReport(expired=counts[BookingStatus.HELD], completed=counts[BookingStatus.REDEEMED])
    if report.expired or report.completed:
        logger.info("booking sweep", extra={"expired": report.expired, "completed": report.completed})
    return report


async def run_sweeper(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    notifier: ChangeNotifier | None = None,
    *,
    every_s: float = DEFAULT_EVERY_S,
) -> None:
    """Sweep every `every_s` seconds until cancelled; a failed sweep is logged and retried next time."""
    while True:
        try:
            await sweep(sessionmaker, clock, notifier)
        except Exception:  # the loop must outlive a database hiccup
            logger.exception("booking sweep failed")
        await asyncio.sleep(every_s)
