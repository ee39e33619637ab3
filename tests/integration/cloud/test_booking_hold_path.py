"""A hold's one transaction: the calendar read with the room, both rows written in Core, no re-reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from cloud.audit.tables import AuditEntry
from cloud.booking import services
from cloud.booking.tables import Booking
from cloud.pricing.model import CalendarDayKind
from cloud.pricing.services import DayEntry, replace_calendar
from tests.integration.cloud.booking_support import START, World, make_world


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """A store of three priced rooms on this test's database."""
    created = await make_world(db_url)
    yield created
    await created.engine.dispose()


async def test_a_hold_is_priced_by_the_tenants_calendar_read_with_the_room(world: World) -> None:
    tuesday, saturday = START.date() + timedelta(days=1), START.date() + timedelta(days=5)
    async with world.uow() as uow:
        entries = [
            DayEntry(tuesday, CalendarDayKind.HOLIDAY, "Festival"),
            DayEntry(saturday, CalendarDayKind.WORKDAY, ""),
        ]
        await replace_calendar(uow, world.clock, world.principal, entries)
    # Each at 10:00-12:00 in Shanghai (02:00 UTC): weekday 6000 an hour, holiday 9000.
    listed_holiday = await world.hold(0, start_h=24 + 2, hours=2)
    plain_weekday = await world.hold(1, start_h=48 + 2, hours=2)
    listed_workday = await world.hold(2, start_h=24 * 5 + 2, hours=2)
    plain_sunday = await world.hold(0, start_h=24 * 6 + 2, hours=2)
    assert listed_holiday.price_total == 18000, "a listed holiday is priced as one"
    assert plain_weekday.price_total == 12000
    assert listed_workday.price_total == 12000, "a Saturday listed as a make-up working day is a weekday"
    assert plain_sunday.price_total == 18000, "an unlisted weekend day is a holiday"
    for booking in (listed_holiday, plain_weekday, listed_workday, plain_sunday):
        assert booking.quote is not None and booking.quote["total"] == booking.price_total


async def test_a_hold_writes_its_row_and_audit_row_and_reads_nothing_back(world: World) -> None:
    statements: list[str] = []
    event.listen(world.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    async with world.uow() as uow:
        held = await services.hold(
            uow,
            world.clock,
            world.cipher,
            world.principal,
            room_id=world.rooms[0],
            starts_at=START + timedelta(hours=30),
            ends_at=START + timedelta(hours=32),
            party_size=2,
            customer_name="Ada",
            phone="13800001234",
        )
        assert held in uow.session, "the session knows the row it wrote, as written"
        assert held.phone_last4 == "1234" and held.payment_ref is None and held.refund_amount is None
    work = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA"))]
    reads = [s for s in work if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2, "one read of room, store, settings and calendar; one of the room's occupants"
    assert len(work) <= 4, "and the two rows written (one statement on PostgreSQL)"
    async with world.sessionmaker() as session:
        row = await session.get(Booking, held.ref)
        assert row is not None and row.status == "held" and row.deposit_due == held.deposit_due
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == held.ref))).one()
        assert (audit.action, audit.actor) == ("booking.hold", world.principal.actor)
        assert audit.before is None and audit.after is not None and audit.after["status"] == "held"
