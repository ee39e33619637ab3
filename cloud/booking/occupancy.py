"""Claiming a room's time without overlap: room locks, expiry of stale holds, conflict checks.

SQLite runs one writer at a time (BEGIN IMMEDIATE), so check-then-write is atomic there. On
PostgreSQL a change of a room's time first takes the room's row lock (rooms in id order, so two
writers never wait on each other in a circle); the exclusion constraint is the last line, and its
violation (SQLSTATE 23P01) is turned into the same 409 slot_taken naming the range that won.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Executable, bindparam, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.booking import lifecycle, model
from cloud.booking.model import BookingStatus, Occupant, Slot, SlotTaken, TimeRange
from cloud.booking.tables import BlockedSlot, Booking
from cloud.orm import UTCDateTime
from cloud.tenancy.tables import Room

EXCLUSION_VIOLATION = "23P01"
_OCCUPYING = [s.value for s in model.OCCUPYING]


async def lock_rooms(session: AsyncSession, room_ids: Iterable[str]) -> None:
    """Hold the rooms' row locks until commit (in id order); a no-op on SQLite, already serialised."""
    ids = sorted(set(room_ids))
    if ids and session.get_bind().dialect.name != "sqlite":
        await session.execute(select(Room.id).where(Room.id.in_(ids)).order_by(Room.id).with_for_update())


def live(now: datetime) -> ColumnElement[bool]:
    """The SQL condition of a booking that holds its time now (an expired hold does not)."""
    return or_(Booking.status != BookingStatus.HELD.value, Booking.hold_expires_at > now)


async def release_stale_holds(
    session: AsyncSession, refs: Iterable[str], now: datetime, actor: str
) -> list[str]:
    """Expire the given holds if still held past their deadline (rows locked and re-read first).

    Rows another transaction has locked (a confirmation racing the deadline) are skipped: on
    PostgreSQL the exclusion constraint then refuses the new booking rather than deadlocking.
    """
    wanted = sorted(set(refs))
    if not wanted:
        return []
    rows = await session.scalars(
        select(Booking)
        .where(
            Booking.ref.in_(wanted),
            Booking.status == BookingStatus.HELD.value,
            Booking.hold_expires_at <= now,
        )
        .order_by(Booking.ref)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    expired = list(rows)
    for booking in expired:
        await lifecycle.expire(session, booking, now=now, actor=actor)
    return [b.ref for b in expired]


# Built once (statement construction costs more than its execution): the bookings and blocks of
# some rooms over a span, bound at execution. No booking has the ref "" (no exclusion).
_BOOKINGS = select(
    literal(Occupant.BOOKING.value).label("what"),
    Booking.ref,
    Booking.room_id,
    Booking.status,
    Booking.starts_at,
    Booking.ends_at,
    Booking.occupied_until,
    Booking.hold_expires_at,
).where(
    Booking.room_id.in_(bindparam("room_ids", expanding=True)),
    Booking.status.in_(_OCCUPYING),
    Booking.starts_at < bindparam("span_end", type_=UTCDateTime()),
    Booking.occupied_until > bindparam("span_start", type_=UTCDateTime()),
    Booking.ref != bindparam("exclude_ref"),
)
_OCCUPANTS: Executable = _BOOKINGS
_OCCUPANTS_WITH_BLOCKS: Executable = union_all(
    _BOOKINGS,
    select(
        literal(Occupant.BLOCK.value),
        BlockedSlot.id,
        BlockedSlot.room_id,
        BlockedSlot.kind,
        BlockedSlot.starts_at,
        BlockedSlot.ends_at,
        BlockedSlot.ends_at,
        BlockedSlot.starts_at,
    ).where(
        BlockedSlot.room_id.in_(bindparam("room_ids", expanding=True)),
        BlockedSlot.starts_at < bindparam("span_end", type_=UTCDateTime()),
        BlockedSlot.ends_at > bindparam("span_start", type_=UTCDateTime()),
    ),
)


@dataclass(frozen=True, slots=True)
class Taken:
    """What holds time in some rooms over a span: per room, the slots; and the stale holds among them."""

    slots: dict[str, list[Slot]]
    stale_holds: list[str]


async def occupants(
    session: AsyncSession,
    room_ids: Iterable[str],
    span: TimeRange,
    now: datetime,
    *,
    exclude_ref: str | None = None,
    blocks: bool = True,
) -> Taken:
    """In one query, per room, the live bookings and blocks overlapping span (and the expired holds apart)."""
    ids = sorted(set(room_ids))
    slots: dict[str, list[Slot]] = {room_id: [] for room_id in ids}
    stale: list[str] = []
    if not ids:
        return Taken(slots, stale)
    query = _OCCUPANTS_WITH_BLOCKS if blocks else _OCCUPANTS
    params = {
        "room_ids": ids,
        "span_start": span.start,
        "span_end": span.end,
        "exclude_ref": exclude_ref or "",
    }
    # Plain rows: the connection runs it without the ORM's execution layer (a third of its cost).
    rows = await (await session.connection()).execute(query, params)
    for what, ref, room_id, status, start, end, until, expires in rows:
        if what == Occupant.BLOCK.value:
            slots[room_id].append(Slot(ref, TimeRange(start, end), None, Occupant.BLOCK))
            continue
        held = status == BookingStatus.HELD.value
        if held and not model.is_live_hold(BookingStatus.HELD, expires, now):
            stale.append(ref)
            continue
        kind = Occupant.HOLD if held else Occupant.BOOKING
        slots[room_id].append(Slot(ref, TimeRange(start, end), TimeRange(start, until), kind))
    return Taken(slots, stale)


async def conflicts(
    session: AsyncSession,
    room_ids: Iterable[str],
    span: TimeRange,
    now: datetime,
    *,
    exclude_ref: str | None = None,
    blocks: bool = True,
) -> dict[str, list[Slot]]:
    """Per room, the live bookings and blocks whose taken range overlaps span."""
    found = await occupants(session, room_ids, span, now, exclude_ref=exclude_ref, blocks=blocks)
    return found.slots


async def claim(
    session: AsyncSession,
    room_id: str,
    taken: TimeRange,
    now: datetime,
    *,
    actor: str,
    exclude_ref: str | None = None,
    locked: bool = False,
) -> None:
    """Make sure taken is free in the room for this transaction, or raise SlotTaken naming the conflict.

    Holds past their deadline in the way are expired here, in this transaction (`locked`: the
    caller already holds the room's lock).
    """
    if not locked:
        await lock_rooms(session, [room_id])
    found = await occupants(session, [room_id], taken, now, exclude_ref=exclude_ref)
    conflict = model.find_conflict(taken, found.slots[room_id])
    if conflict is not None:
        raise model.slot_taken(conflict)
    await release_stale_holds(session, found.stale_holds, now, actor)


def is_overlap_violation(err: IntegrityError) -> bool:
    """True for PostgreSQL's exclusion constraint violation."""
    return getattr(err.orig, "sqlstate", None) == EXCLUSION_VIOLATION


@asynccontextmanager
async def overlap_guard(
    session: AsyncSession, room_id: str, taken: TimeRange, now: datetime, exclude_ref: str | None = None
) -> AsyncIterator[None]:
    """Turn an exclusion-constraint violation inside the block into SlotTaken naming the winner.

    The transaction is rolled back (it cannot continue after the violation) before the winner is read.
    """
    try:
        yield
    except IntegrityError as err:
        if not is_overlap_violation(err):
            raise
        await session.rollback()
        found = await conflicts(session, [room_id], taken, now, exclude_ref=exclude_ref, blocks=False)
        await session.rollback()
        conflict = model.find_conflict(taken, found[room_id])
        if conflict is None:  # the winner is gone again: name the wanted range
            raise SlotTaken("the room was taken for this time", field="starts_at") from err
        raise model.slot_taken(conflict) from err
