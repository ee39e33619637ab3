"""Blocked time of rooms: film schedules imported for cinema halls, maintenance and manual blocks.

A film schedule import replaces the film blocks of every (hall, local day) the file covers, so a
corrected schedule moves showings and importing the same file again changes nothing. A showing
that clashes with a live booking is imported all the same (the film runs) and reported with the
booking, for staff to settle with the customer; it is never dropped silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal, in_reach
from cloud.booking import filmschedule, model, occupancy
from cloud.booking.model import BlockKind, Occupant, TimeRange
from cloud.booking.tables import BlockedSlot
from cloud.clock import Clock
from cloud.errors import Invalid, NotFound
from cloud.ids import new_id
from cloud.tenancy.services import get_room, get_store
from cloud.tenancy.tables import Room
from cloud.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, as a dry run, would do), and every row that clashes with a booking."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    removed: int
    clashes: list[dict[str, Any]]


def _clash(row: filmschedule.FilmRow, slot: model.Slot) -> dict[str, Any]:
    return {
        "row": row.row,
        "hall": row.hall,
        "title": row.title,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "with": {
            "kind": slot.kind.value,
            "ref": slot.ref,
            "starts_at": slot.range.start.isoformat(),
            "ends_at": slot.range.end.isoformat(),
            "occupied_until": slot.taken.end.isoformat(),
        },
    }


async def import_film_schedule(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    store_id: str,
    data: bytes,
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Import a film schedule CSV (hall, start, end, title) as blocked time of the store's halls.

    Bad rows refuse the whole file (422 invalid_schedule listing every row with its number).
    """
    session = uow.session
    store = await get_store(session, principal, store_id)
    tz = ZoneInfo(store.timezone)
    rooms = list(await session.scalars(select(Room).where(Room.store_id == store.id)))
    halls = {room.name: room.id for room in rooms} | {room.id: room.id for room in rooms}
    rows = filmschedule.parse_schedule(filmschedule.decode(data), tz, halls)
    now = clock.now()
    await occupancy.lock_rooms(session, {row.room_id for row in rows})

    scope: dict[str, set[date]] = defaultdict(set)
    for row in rows:
        scope[row.room_id].add(row.starts_at.astimezone(tz).date())
    existing: dict[tuple[str, datetime, datetime], BlockedSlot] = {}
    for room_id, days in scope.items():
        first = datetime.combine(min(days), datetime.min.time(), tzinfo=tz)
        last = datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        found = await session.scalars(
            select(BlockedSlot).where(
                BlockedSlot.room_id == room_id,
                BlockedSlot.kind == BlockKind.FILM.value,
                BlockedSlot.starts_at >= first,
                BlockedSlot.starts_at < last,
            )
        )
        for block in found:
            if block.starts_at.astimezone(tz).date() in days:
                existing[(block.room_id, block.starts_at, block.ends_at)] = block

    created = updated = unchanged = 0
    wanted: set[tuple[str, datetime, datetime]] = set()
    for row in rows:
        key = (row.room_id, row.starts_at, row.ends_at)
        wanted.add(key)
        current = existing.get(key)
        if current is None:
            created += 1
            if not dry_run:
                session.add(
                    BlockedSlot(
                        id=new_id("blk"),
                        tenant_id=store.tenant_id,
                        store_id=store.id,
                        room_id=row.room_id,
                        kind=BlockKind.FILM.value,
                        title=row.title,
                        starts_at=row.starts_at,
                        ends_at=row.ends_at,
                        created_at=now,
                        created_by=principal.actor,
                    )
                )
        elif current.title != row.title:
            updated += 1
            if not dry_run:
                current.title = row.title
        else:
            unchanged += 1
    stale = [block for key, block in existing.items() if key not in wanted]
    if not dry_run:
        for block in stale:
            await session.delete(block)

    clashes: list[dict[str, Any]] = []
    if rows:
        span = TimeRange(min(r.starts_at for r in rows), max(r.ends_at for r in rows))
        taken = await occupancy.conflicts(session, scope, span, now, blocks=False)
        for row in rows:
            film = TimeRange(row.starts_at, row.ends_at)
            for slot in sorted(taken[row.room_id], key=lambda s: s.range.start):
                if slot.kind is not Occupant.BLOCK and film.overlaps(slot.taken):
                    clashes.append(_clash(row, slot))
    report = ImportReport(dry_run, len(rows), created, updated, unchanged, len(stale), clashes)
    if dry_run:
        await uow.rollback()
        return report
    await session.flush()
    record_audit(
        session,
        at=now,
        tenant_id=store.tenant_id,
        actor=principal.actor,
        action="film_schedule.import",
        entity="store",
        entity_id=store.id,
        after={
            "rows": report.rows,
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "removed": report.removed,
            "clashes": [{"row": c["row"], "ref": c["with"]["ref"]} for c in clashes],
        },
    )
    await uow.commit()
    return report


async def create_block(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    *,
    room_id: str,
    starts_at: datetime,
    ends_at: datetime,
    kind: str,
    title: str,
) -> BlockedSlot:
    """Block a room's time (maintenance or manual); refused with 409 slot_taken over a live booking."""
    if kind not in (BlockKind.MAINTENANCE.value, BlockKind.MANUAL.value):
        raise Invalid(
            "kind must be maintenance or manual (films come from a schedule)",
            code="invalid_kind",
            field="kind",
        )
    window = model.check_block_window(starts_at, ends_at)
    session = uow.session
    room, store = await get_room(session, principal, room_id)
    now = clock.now()
    await occupancy.claim(session, room.id, window, now, actor=principal.actor)
    block = BlockedSlot(
        id=new_id("blk"),
        tenant_id=store.tenant_id,
        store_id=store.id,
        room_id=room.id,
        kind=kind,
        title=title.strip(),
        starts_at=window.start,
        ends_at=window.end,
        created_at=now,
        created_by=principal.actor,
    )
    session.add(block)
    await session.flush()
    record_audit(
        session,
        at=now,
        tenant_id=store.tenant_id,
        actor=principal.actor,
        action="block.create",
        entity="block",
        entity_id=block.id,
        after={
            "room_id": room.id,
            "kind": kind,
            "starts_at": window.start.isoformat(),
            "ends_at": window.end.isoformat(),
        },
    )
    await uow.commit()
    return block


async def _block(session: AsyncSession, principal: Principal, block_id: str) -> BlockedSlot:
    block = await session.get(BlockedSlot, block_id)
    if block is None or not in_reach(principal, block.tenant_id, store_id=block.store_id):
        raise NotFound(f"no block {block_id}", code="block_not_found", field="block_id")
    return block


async def delete_block(uow: UnitOfWork, clock: Clock, principal: Principal, block_id: str) -> None:
    """Free a blocked slot."""
    session = uow.session
    block = await _block(session, principal, block_id)
    await session.delete(block)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="block.delete",
        entity="block",
        entity_id=block.id,
        before={"room_id": block.room_id, "kind": block.kind, "starts_at": block.starts_at.isoformat()},
    )
    await uow.commit()


async def list_blocks(
    session: AsyncSession, principal: Principal, store_id: str, start: datetime, end: datetime
) -> list[BlockedSlot]:
    """The store's blocks overlapping [start, end), by start."""
    store = await get_store(session, principal, store_id)
    rows = await session.scalars(
        select(BlockedSlot)
        .where(BlockedSlot.store_id == store.id, BlockedSlot.starts_at < end, BlockedSlot.ends_at > start)
        .order_by(BlockedSlot.starts_at, BlockedSlot.room_id)
    )
    return list(rows)
