"""Place a customer's call (record it, send it to the store's edge as a command) and list calls for HQ."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.edgelink.commands import LinkRegistry, run_command
from cloud.edgelink.model import EdgeOffline, EdgeTimeout
from cloud.errors import NotFound
from cloud.ids import new_id
from cloud.servicecalls.model import (
    COMMAND_KIND,
    COMMAND_TIMEOUT_S,
    INTERRUPTED,
    INTERRUPTED_AFTER_S,
    QR_ACTOR,
    CallRequest,
    CallStatus,
)
from cloud.servicecalls.tables import ServiceCall
from cloud.tenancy.services import get_store
from cloud.tenancy.tables import Room, Store

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "system:startup"


@dataclass(frozen=True, slots=True)
class RoomOfStore:
    """A room reached through a store's QR code: the store and the room."""

    store: Store
    room: Room


async def room_of_store(session: AsyncSession, store_id: str, room_id: str) -> RoomOfStore:
    """The room of a QR code's URL (NotFound: unknown store or room, or a room of another store)."""
    row = (
        await session.execute(
            select(Room, Store)
            .join(Store, Room.store_id == Store.id)
            .where(Room.id == room_id, Store.id == store_id)
        )
    ).first()
    if row is None:
        raise NotFound("no such room in this store", code="room_not_found", field="room_id")
    return RoomOfStore(store=row[1], room=row[0])


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """A call as placed: delivered to the edge or not, and why not (the edge's or the link's code)."""

    id: str
    status: CallStatus
    code: str
    created_at: datetime


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    call_id: str,
    status: CallStatus,
    code: str,
    command_id: str | None,
    *,
    actor: str = QR_ACTOR,
    only_if_sending: bool = False,
) -> bool:
    async with sessionmaker() as session:
        row = await session.get(ServiceCall, call_id, with_for_update=only_if_sending)
        if row is None or (only_if_sending and row.status != CallStatus.SENDING.value):
            return False
        before = {"status": row.status}
        row.code, row.command_id = code, command_id
        if row.status == CallStatus.ANSWERED.value:
            # The staff's answer came back over the link before this worker heard the edge's reply.
            status = CallStatus.ANSWERED
        row.status = status.value
        if status in (CallStatus.DELIVERED, CallStatus.ANSWERED):
            row.delivered_at = row.delivered_at or clock.now()
        record_audit(
            session,
            at=clock.now(),
            tenant_id=row.tenant_id,
            actor=actor,
            action=f"service_call.{status.value}",
            entity="service_call",
            entity_id=call_id,
            before=before,
            after={"status": status.value, "code": code, "command_id": command_id},
        )
        await session.commit()
    return True


async def place_call(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    registry: LinkRegistry,
    *,
    store_id: str,
    room_id: str,
    request: CallRequest,
) -> PlacedCall:
    """Record the call, send it to the store's edge (`service_call` command) and record the outcome.

    Never reports a delivery the edge did not confirm: an edge that is offline, silent or refusing
    leaves the call `undelivered` with the reason's code.
    """
    call_id = new_id("sc", 12)
    now = clock.now()
    async with sessionmaker() as session:
        found = await room_of_store(session, store_id, room_id)
        store, room = found.store, found.room
        session.add(
            ServiceCall(
                id=call_id,
                tenant_id=store.tenant_id,
                store_id=store.id,
                room_id=room.id,
                room_name=room.name,
                reason=request.reason.value,
                note=request.note,
                status=CallStatus.SENDING.value,
                code=None,
                command_id=None,
                created_at=now,
                delivered_at=None,
            )
        )
        record_audit(
            session,
            at=now,
            tenant_id=store.tenant_id,
            actor=QR_ACTOR,
            action="service_call.create",
            entity="service_call",
            entity_id=call_id,
            after={
                "store_id": store.id,
                "room_id": room.id,
                "reason": request.reason.value,
                "note": request.note,
            },
        )
        tenant_id = store.tenant_id
        await session.commit()
    principal = Principal(tenant_id, QR_ACTOR)
    args = {"room_id": room_id, "reason": request.reason.value, "note": request.note, "call_id": call_id}
    try:
        outcome = await run_command(
            sessionmaker,
            clock,
            registry,
            principal,
            store_id=store_id,
            kind=COMMAND_KIND,
            args=args,
            timeout_s=COMMAND_TIMEOUT_S,
        )
    except (EdgeOffline, EdgeTimeout) as err:
        logger.warning("service call not delivered", extra={"call_id": call_id, "code": err.code})
        await _settle(sessionmaker, clock, call_id, CallStatus.UNDELIVERED, err.code, None)
        return PlacedCall(call_id, CallStatus.UNDELIVERED, err.code, now)
    status = CallStatus.DELIVERED if outcome.ok else CallStatus.UNDELIVERED
    await _settle(sessionmaker, clock, call_id, status, outcome.code, outcome.id)
    return PlacedCall(call_id, status, outcome.code, now)


async def settle_interrupted(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Calls left `sending` by a worker that died waiting on the edge become `undelivered` (`interrupted`).

    Only calls older than any wait could last are touched, so a live worker's call is never
    settled under it; an answer the staff give later still marks the call `answered`.
    Returns how many were settled.
    """
    cutoff = clock.now() - timedelta(seconds=INTERRUPTED_AFTER_S)
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(ServiceCall.id).where(
                    ServiceCall.status == CallStatus.SENDING.value, ServiceCall.created_at < cutoff
                )
            )
        )
    settled = 0
    for call_id in ids:
        # Another worker starting at the same moment may settle it first: then this one does not.
        settled += await _settle(
            sessionmaker,
            clock,
            call_id,
            CallStatus.UNDELIVERED,
            INTERRUPTED,
            None,
            actor=SWEEP_ACTOR,
            only_if_sending=True,
        )
    if settled:
        logger.warning("interrupted service calls settled", extra={"count": settled})
    return settled


async def mark_answered(
    session: AsyncSession, *, store_id: str, call_id: str, by: str, at: datetime, actor: str
) -> bool:
    """Staff answered a call at the store's panel (in the caller's transaction); False when unknown.

    A repeat (the same answer reported twice) changes nothing.
    """
    row = await session.get(ServiceCall, call_id)
    if row is None or row.store_id != store_id:
        return False
    if row.status == CallStatus.ANSWERED.value:
        return True
    before = {"status": row.status}
    row.status, row.answered_at, row.answered_by = CallStatus.ANSWERED.value, at, by[:200]
    row.delivered_at = row.delivered_at or at
    record_audit(
        session,
        at=at,
        tenant_id=row.tenant_id,
        actor=actor,
        action="service_call.answered",
        entity="service_call",
        entity_id=call_id,
        before=before,
        after={"status": row.status, "answered_by": row.answered_by},
    )
    return True


async def list_calls(
    session: AsyncSession, principal: Principal, store_id: str, *, limit: int = 100
) -> list[ServiceCall]:
    """The store's latest calls, newest first (NotFound for a store outside the caller's reach)."""
    store = await get_store(session, principal, store_id)
    rows = await session.scalars(
        select(ServiceCall)
        .where(ServiceCall.tenant_id == principal.tenant_id, ServiceCall.store_id == store.id)
        .order_by(ServiceCall.created_at.desc(), ServiceCall.id)
        .limit(limit)
    )
    return list(rows)
