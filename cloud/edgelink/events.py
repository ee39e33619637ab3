"""Event ingestion: record each (edge, seq) once and apply its effect in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import metrics
from cloud.booking.services import mark_redeemed
from cloud.clock import Clock
from cloud.edgelink.model import (
    EventKind,
    EventOutcome,
    IncomingEvent,
    InvalidPayload,
    parse_payload,
    parse_redemption,
)
from cloud.edgelink.tables import Edge, EdgeEvent, Redemption
from cloud.faults.model import parse_fault
from cloud.faults.services import open_from_fault
from cloud.servicecalls.model import ANSWER_ACTION
from cloud.servicecalls.services import mark_answered
from cloud.uow import ChangeNotifier, UnitOfWork

logger = logging.getLogger(__name__)

INGEST_TRIES = 3


@dataclass(frozen=True, slots=True)
class EventContext:
    """What an event handler may use: the transaction's session, the clock, who sent the event."""

    session: AsyncSession
    clock: Clock
    edge_id: str
    store_id: str


Handler = Callable[[EventContext, EdgeEvent, dict[str, Any]], Awaitable[EventOutcome]]


async def handle_redemption(ctx: EventContext, event: EdgeEvent, payload: dict[str, Any]) -> EventOutcome:
    """Mark the booking redeemed (if confirmed) and record the redemption, flagged if the cloud lacks it."""
    report = parse_redemption(payload)
    booking = await mark_redeemed(
        ctx.session, ctx.clock, store_id=ctx.store_id, ref=report.booking_ref, actor=f"edge:{ctx.edge_id}"
    )
    if booking is None:
        logger.warning(
            "redemption of a booking the cloud does not know",
            extra={"edge_id": ctx.edge_id, "booking_ref": report.booking_ref, "seq": event.seq},
        )
    ctx.session.add(
        Redemption(
            store_id=ctx.store_id,
            edge_id=ctx.edge_id,
            event_seq=event.seq,
            booking_ref=report.booking_ref,
            room_id=report.room_id,
            at=event.occurred_at,
            method=report.method,
            known_to_edge=report.known,
            known_to_cloud=booking is not None,
            key_version=report.key_version,
            device_id=report.device_id,
        )
    )
    return EventOutcome.APPLIED


async def handle_fault(ctx: EventContext, event: EdgeEvent, payload: dict[str, Any]) -> EventOutcome:
    """Open the fault's work order (once per fault id), routed by the store's region and the severity."""
    report = parse_fault(payload, default_id=f"{ctx.edge_id}:{event.seq}")
    order = await open_from_fault(
        ctx.session,
        ctx.clock,
        edge_id=ctx.edge_id,
        store_id=ctx.store_id,
        seq=event.seq,
        occurred_at=event.occurred_at,
        report=report,
    )
    return EventOutcome.APPLIED if order is not None else EventOutcome.STORED


async def handle_staff_action(ctx: EventContext, event: EdgeEvent, payload: dict[str, Any]) -> EventOutcome:
    """A staff action at the panel: one that answered a customer's call marks the call answered."""
    call_id = payload.get("call_id")
    if payload.get("action") != ANSWER_ACTION or payload.get("code") != "ok" or not isinstance(call_id, str):
        return EventOutcome.STORED
    username = payload.get("username")
    by = username if isinstance(username, str) and username else f"edge:{ctx.edge_id}"
    known = await mark_answered(
        ctx.session,
        store_id=ctx.store_id,
        call_id=call_id,
        by=by,
        at=event.occurred_at,
        actor=f"edge:{ctx.edge_id}",
    )
    return EventOutcome.APPLIED if known else EventOutcome.STORED


# Kinds with an effect; every other kind is stored (and acknowledged) only.
HANDLERS: dict[str, Handler] = {
    EventKind.REDEMPTION.value: handle_redemption,
    EventKind.FAULT.value: handle_fault,
    EventKind.STAFF_ACTION.value: handle_staff_action,
}


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Which seqs to acknowledge, and how many were new or repeats."""

    acked: tuple[int, ...]
    recorded: int
    duplicates: int


async def _apply(
    ctx: EventContext, row: EdgeEvent, payload: dict[str, Any] | None, error: str | None
) -> None:
    handler = HANDLERS.get(row.kind)
    if payload is None or handler is None:
        row.outcome = EventOutcome.INVALID.value if payload is None else EventOutcome.STORED.value
        row.error = error
        return
    try:
        async with ctx.session.begin_nested():
            row.outcome = (await handler(ctx, row, payload)).value
    except InvalidPayload as err:
        row.outcome, row.error = EventOutcome.INVALID.value, str(err)
        logger.warning(
            "event payload ignored",
            extra={"edge_id": ctx.edge_id, "seq": row.seq, "kind": row.kind, "error": str(err)},
        )
    except IntegrityError:
        raise
    except Exception as err:  # a handler bug must not block the edge's outbox forever
        logger.exception(
            "event handler failed", extra={"edge_id": ctx.edge_id, "seq": row.seq, "kind": row.kind}
        )
        row.outcome, row.error = EventOutcome.INVALID.value, f"handler failed: {err!r}"[:1000]


async def _ingest_once(
    uow: UnitOfWork, clock: Clock, edge_id: str, store_id: str, events: Sequence[IncomingEvent]
) -> IngestResult:
    session = uow.session
    seqs = sorted({e.seq for e in events})
    known = set(
        await session.scalars(
            select(EdgeEvent.seq).where(EdgeEvent.edge_id == edge_id, EdgeEvent.seq.in_(seqs))
        )
    )
    ctx = EventContext(session=session, clock=clock, edge_id=edge_id, store_id=store_id)
    now = clock.now()
    recorded: list[str] = []
    for event in sorted(events, key=lambda e: e.seq):
        if event.seq in known:
            continue
        known.add(event.seq)
        payload: dict[str, Any] | None
        try:
            payload, error = parse_payload(event.payload_json), None
        except InvalidPayload as err:
            payload, error = None, str(err)
            logger.warning(
                "event payload ignored",
                extra={"edge_id": edge_id, "seq": event.seq, "kind": event.kind, "error": error},
            )
        row = EdgeEvent(
            edge_id=edge_id,
            store_id=store_id,
            seq=event.seq,
            kind=event.kind[:40],
            occurred_at=event.occurred_at,
            payload=payload if payload is not None else {"raw": event.payload_json[:4000]},
            received_at=now,
            outcome=EventOutcome.STORED.value,
            error=None,
        )
        session.add(row)
        if payload is not None and row.kind in HANDLERS:
            # An effect runs in a savepoint of its own: the rows before it must be written first.
            await session.flush()
        await _apply(ctx, row, payload, error)
        recorded.append(row.outcome)
    await session.execute(
        update(Edge)
        .where(Edge.id == edge_id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    await uow.commit()
    for outcome in recorded:
        metrics.EVENTS_INGESTED.labels(outcome=outcome).inc()
    duplicates = len(events) - len(recorded)
    if duplicates:
        metrics.EVENTS_DUPLICATE.inc(duplicates)
    return IngestResult(acked=tuple(seqs), recorded=len(recorded), duplicates=duplicates)


async def ingest_events(
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: ChangeNotifier,
    clock: Clock,
    *,
    edge_id: str,
    store_id: str,
    events: Sequence[IncomingEvent],
) -> IngestResult:
    """Record a batch exactly once per (edge, seq) and apply each new event's effect; return seqs to ack."""
    if not events:
        return IngestResult(acked=(), recorded=0, duplicates=0)
    for attempt in range(1, INGEST_TRIES + 1):
        async with sessionmaker() as session:
            try:
                return await _ingest_once(UnitOfWork(session, notifier), clock, edge_id, store_id, events)
            except IntegrityError:
                # A copy of these events committed concurrently (another stream): retry, they are known now.
                await session.rollback()
                if attempt == INGEST_TRIES:
                    raise
                logger.info("event batch raced a copy of itself; retrying", extra={"edge_id": edge_id})
    raise AssertionError("unreachable")
