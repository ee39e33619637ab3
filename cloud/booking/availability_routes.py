"""HTTP routes of availability: store timelines, the cross-store search, blocked time, film schedules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from cloud.booking import availability, blocks
from cloud.booking.schemas import (
    BlockCreate,
    BlockOut,
    ImportOut,
    OfferOut,
    QuoteOut,
    RoomDayOut,
    SegmentOut,
    StoreDayOut,
)
from cloud.deps import ClockDep, RoomsWrite, SessionDep, TenancyRead, UowDep

router = APIRouter(prefix="/api/v1", tags=["availability"])


@router.get("/stores/{store_id}/availability")
async def store_availability(
    store_id: str, date: date, principal: TenancyRead, session: SessionDep, clock: ClockDep
) -> StoreDayOut:
    """Every room's timeline of the store's local day: free, held, booked, cleaning, blocked, closed..."""
    view = await availability.store_day(session, clock, principal, store_id, date)
    return StoreDayOut(
        store_id=view.store.id,
        date=view.day,
        timezone=view.store.timezone,
        starts_at=view.span.start,
        ends_at=view.span.end,
        rooms=[
            RoomDayOut(
                room_id=r.room.id,
                name=r.room.name,
                kind=r.room.kind,
                room_type=r.room.room_type,
                capacity_min=r.room.capacity_min,
                capacity_max=r.room.capacity_max,
                segments=[SegmentOut.of(s) for s in r.segments],
            )
            for r in view.rooms
        ],
    )


@router.get("/availability/search")
async def search(
    starts_at: AwareDatetime,
    ends_at: AwareDatetime,
    principal: TenancyRead,
    session: SessionDep,
    clock: ClockDep,
    city: str | None = None,
    area: str | None = None,
    room_type: str | None = None,
    kind: str | None = None,
    party_size: int | None = None,
    price_min_per_hour: int | None = None,
    price_max_per_hour: int | None = None,
    limit: Annotated[int, Query(ge=1, le=availability.MAX_RESULTS)] = 50,
) -> list[OfferOut]:
    """Free rooms across the caller's stores for a slot, with the quoted price, cheapest first."""
    query = availability.SearchQuery(
        starts_at=starts_at,
        ends_at=ends_at,
        city=city,
        area=area,
        room_type=room_type,
        kind=kind,
        party_size=party_size,
        price_min_per_hour=price_min_per_hour,
        price_max_per_hour=price_max_per_hour,
        limit=limit,
    )
    return [
        OfferOut(
            store_id=o.store.id,
            store_name=o.store.name,
            city=o.store.city,
            area=o.store.area,
            room_id=o.room.id,
            room_name=o.room.name,
            kind=o.room.kind,
            room_type=o.room.room_type,
            capacity_min=o.room.capacity_min,
            capacity_max=o.room.capacity_max,
            facilities=list(o.room.facilities or []),
            quote=QuoteOut.of(o.quote, o.deposit),
        )
        for o in await availability.search(session, clock, principal, query)
    ]


@router.post("/stores/{store_id}/film-schedule")
async def import_film_schedule(
    store_id: str,
    request: Request,
    principal: RoomsWrite,
    uow: UowDep,
    clock: ClockDep,
    dry_run: bool = False,
) -> ImportOut:
    """Import a film schedule CSV (the request body: hall, start, end, title) as blocked time."""
    report = await blocks.import_film_schedule(
        uow, clock, principal, store_id, await request.body(), dry_run=dry_run
    )
    return ImportOut(
        dry_run=report.dry_run,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        removed=report.removed,
        clashes=report.clashes,
    )


@router.get("/stores/{store_id}/blocks")
async def list_blocks(
    store_id: str,
    principal: TenancyRead,
    session: SessionDep,
    starts_at: AwareDatetime,
    ends_at: AwareDatetime | None = None,
) -> list[BlockOut]:
    """The store's blocked slots overlapping [starts_at, ends_at) (default: one day)."""
    end = ends_at if ends_at is not None else starts_at + timedelta(days=1)
    return [BlockOut.of(b) for b in await blocks.list_blocks(session, principal, store_id, starts_at, end)]


@router.post("/blocks", status_code=201)
async def create_block(body: BlockCreate, principal: RoomsWrite, uow: UowDep, clock: ClockDep) -> BlockOut:
    """Block a room's time for maintenance or by hand (409 slot_taken over a live booking)."""
    block = await blocks.create_block(
        uow,
        clock,
        principal,
        room_id=body.room_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        kind=body.kind,
        title=body.title,
    )
    return BlockOut.of(block)


@router.delete("/blocks/{block_id}", status_code=204)
async def delete_block(block_id: str, principal: RoomsWrite, uow: UowDep, clock: ClockDep) -> Response:
    """Free a blocked slot."""
    await blocks.delete_block(uow, clock, principal, block_id)
    return Response(status_code=204)
