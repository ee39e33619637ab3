"""The refund sweeper: tries again every pending refund whose next try is due; forgets old callback nonces.

Every cloud worker may run one. A refund is claimed before it is tried by pushing its next try one
lease ahead: on PostgreSQL the due rows are picked with SELECT ... FOR UPDATE SKIP LOCKED (two
workers never pick the same row), on SQLite (one writer at a time) by a conditional UPDATE that
only one worker can win. The provider call happens outside any transaction; the refund id makes a
repeat harmless at the provider even if a lease ran out mid-call.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.clock import Clock
from cloud.payments import model
from cloud.payments.model import RefundStatus
from cloud.payments.provider import PaymentProvider
from cloud.payments.refunds import Jitter, try_refund
from cloud.payments.tables import PaymentCallbackNonce, PaymentRefund
from cloud.uow import ChangeNotifier, UnitOfWork

logger = logging.getLogger(__name__)

BATCH = 50
DEFAULT_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class RefundSweepReport:
    """What one sweep did."""

    tried: int
    nonces_forgotten: int


async def claim_due(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, limit: int = BATCH
) -> list[str]:
    """Claim up to `limit` pending refunds whose next try is due (this worker tries them)."""
    now = clock.now()
    lease_end = now + model.REFUND_LEASE
    due = (
        PaymentRefund.status == RefundStatus.PENDING.value,
        PaymentRefund.next_try_at.is_not(None),
        PaymentRefund.next_try_at <= now,
    )
    async with sessionmaker() as session:
        candidates = select(PaymentRefund.id).where(*due).order_by(PaymentRefund.next_try_at).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            ids = list(await session.scalars(candidates.with_for_update(skip_locked=True)))
            if ids:
                await session.execute(
                    update(PaymentRefund).where(PaymentRefund.id.in_(ids)).values(next_try_at=lease_end)
                )
            await session.commit()
            return ids
        claimed: list[str] = []
        for refund_id in list(await session.scalars(candidates)):
            result = await session.execute(
                update(PaymentRefund).where(PaymentRefund.id == refund_id, *due).values(next_try_at=lease_end)
            )
            assert isinstance(result, CursorResult)
            if result.rowcount == 1:
                claimed.append(refund_id)
        await session.commit()
        return claimed


async def forget_nonces(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Drop nonces no callback could still pass the freshness check with."""
    async with sessionmaker() as session:
        result = await session.execute(
            delete(PaymentCallbackNonce).where(
                PaymentCallbackNonce.signed_at < clock.now() - model.NONCE_KEEP
            )
        )
        await session.commit()
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


async def sweep_refunds(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    provider: PaymentProvider | None,
    notifier: ChangeNotifier | None = None,
    *,
    notify_url: str | None = None,
    jitter: Jitter = random.random,
) -> RefundSweepReport:
    """Try every due refund once (claimed first), then forget expired nonces."""
    tried = 0
    if provider is not None:
        while True:
            ids = await claim_due(sessionmaker, clock)
            for refund_id in ids:
                async with sessionmaker() as session:
                    await try_refund(
                        UnitOfWork(session, notifier),
                        clock,
                        provider,
                        refund_id,
                        notify_url=notify_url,
                        jitter=jitter,
                    )
            tried += len(ids)
            if len(ids) < BATCH:
                break
    forgotten = await forget_nonces(sessionmaker, clock)
    if tried:
        logger.info("refund sweep", extra={"tried": tried})
    return RefundSweepReport(tried=tried, nonces_forgotten=forgotten)


async def run_refund_sweeper(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    provider_of: Callable[[], PaymentProvider | None],
    notifier: ChangeNotifier | None = None,
    *,
    notify_url: str | None = None,
    every_s: float = DEFAULT_EVERY_S,
) -> None:
    """Sweep every `every_s` seconds until cancelled; a failed sweep is logged and retried next time."""
    while True:
        try:
            await sweep_refunds(sessionmaker, clock, provider_of(), notifier, notify_url=notify_url)
        except Exception:  # the loop must outlive a database or provider hiccup
            logger.exception("refund sweep failed")
        await asyncio.sleep(every_s)
