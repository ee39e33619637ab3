"""The booking life cycle on SQLite and PostgreSQL through the services: holds, payment, expiry,
cancellation with refunds, reschedule, the sweeper, blocks, and what reaches the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from cloud.audit.tables import AuditEntry
from cloud.booking import blocks, occupancy, services, sweeper
from cloud.booking.model import HoldExpired, SlotTaken, TimeRange
from cloud.booking.tables import Booking
from cloud.errors import Conflict, Invalid
from cloud.rules import services as rules
from cloud.tenancy import services as tenancy
from tests.integration.cloud.booking_support import World, make_world


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """A store of three priced rooms on this test's database."""
    created = await make_world(db_url)
    yield created
    await created.engine.dispose()


async def audit_actions(world: World, ref: str) -> list[str]:
    async with world.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == ref).order_by(AuditEntry.id)
        )
        return list(rows)


async def test_a_hold_asks_for_its_deposit_by_the_rules_and_is_invisible_to_the_edge(world: World) -> None:
    async with world.uow() as uow:
        await rules.set_chain(uow, world.clock, world.principal, {"deposit_pct": 30, "hold_min": 10})
    held = await world.hold(0, start_h=26, hours=2)
    assert held.status == "held" and held.source == "web"
    assert held.price_total == 12000 and held.deposit_due == 3600
    assert held.hold_expires_at == world.clock.now() + timedelta(minutes=10)
    assert held.occupied_until == world.at(28.5), "the 30-minute cleaning gap follows the booking"
    assert held.quote is not None and held.quote["total"] == 12000
    assert held.terms is not None and held.terms["deposit_pct"] == 30
    assert await world.feed_booking(held.ref) is None
    assert world.notifier.changed_stores == [], "no edge was woken for a hold"


async def test_an_unpaid_hold_stops_blocking_at_its_deadline_and_a_late_payment_is_refused(
    world: World,
) -> None:
    first = await world.hold(0, start_h=26)
    with pytest.raises(SlotTaken) as err:
        await world.hold(0, start_h=26.5)
    assert err.value.extra["conflict"]["kind"] == "hold"
    world.clock.advance(15 * 60)
    second = await world.hold(0, start_h=26.5)
    assert second.status == "held"
    assert (await world.booking(first.ref)).status == "expired", "released inside the booking transaction"
    with pytest.raises(HoldExpired) as late:
        await world.confirm(first.ref)
    assert late.value.code == "hold_expired"
    assert await audit_actions(world, first.ref) == ["booking.hold", "booking.expired"]


async def test_a_payment_confirms_once_and_repeats_change_nothing(world: World) -> None:
    held = await world.hold(1, start_h=30)
    confirmed = await world.confirm(held.ref, "wx-1")
    assert (confirmed.status, confirmed.payment_ref, confirmed.amount_paid) == ("confirmed", "wx-1", 6000)
    assert confirmed.hold_expires_at is None and confirmed.confirmed_at == world.clock.now()
    world.clock.advance(3600)  # a callback replayed an hour later, past the old deadline
    again = await world.confirm(held.ref, "wx-1")
    assert again.status == "confirmed" and again.confirmed_at == confirmed.confirmed_at
    with pytest.raises(Conflict) as other:
        await world.confirm(held.ref, "wx-2")
    assert other.value.code == "already_confirmed"
    assert await audit_actions(world, held.ref) == ["booking.hold", "booking.confirmed"]
    payload = await world.feed_booking(held.ref)
    assert payload is not None and payload["status"] == "confirmed"
    assert world.store_id in world.notifier.changed_stores


async def test_a_payment_below_the_deposit_is_refused(world: World) -> None:
    held = await world.hold(1, start_h=30)
    with pytest.raises(Invalid) as err:
        await world.confirm(held.ref, "wx-1", amount=held.deposit_due - 1)
    assert (err.value.code, err.value.field) == ("wrong_amount", "amount_paid")
    assert (await world.booking(held.ref)).status == "held"


async def test_cancelling_refunds_by_the_tiers_agreed_and_the_edge_revokes(world: World) -> None:
    held = await world.hold(0, start_h=3, hours=2)  # starts at 11:00 local, three hours from now
    await world.confirm(held.ref, "wx-9", amount=held.price_total)
    world.clock.advance(90 * 60)  # 90 minutes before the start: the 50 % tier
    async with world.sessionmaker() as session:
        preview = services.refund_preview(
            await services.get_booking(session, world.principal, held.ref), world.clock.now()
        )
    assert (preview.pct, preview.amount) == (50, 6000)
    async with world.uow() as uow:
        cancelled = await services.cancel_booking(uow, world.clock, world.principal, held.ref)
    assert (cancelled.status, cancelled.refund_amount) == ("cancelled", 6000)
    payload = await world.feed_booking(held.ref)
    assert payload is not None and payload["status"] == "cancelled"
    async with world.uow() as uow:
        refunded = await services.record_refund(
            uow,
            world.clock,
            ref=held.ref,
            refund_ref="rf-1",
            tenant_id=world.principal.tenant_id,
            actor="pay",
        )
    assert refunded.status == "refunded"
    async with world.uow() as uow:
        again = await services.record_refund(
            uow,
            world.clock,
            ref=held.ref,
            refund_ref="rf-1",
            tenant_id=world.principal.tenant_id,
            actor="pay",
        )
    assert again.status == "refunded"
    assert (await world.feed_booking(held.ref) or {})["status"] == "cancelled", (
        "refunded is cancelled at the door"
    )
    assert await audit_actions(world, held.ref) == [
        "booking.hold",
        "booking.confirmed",
        "booking.cancelled",
        "booking.refunded",
    ]
    # The time is free again.
    assert (await world.hold(0, start_h=3, hours=2)).status == "held"


async def test_a_late_cancellation_refunds_nothing_and_a_hold_is_simply_released(world: World) -> None:
    booked = await world.hold(0, start_h=1)
    await world.confirm(booked.ref, "wx-3")
    world.clock.advance(40 * 60)  # 20 minutes before the start
    async with world.uow() as uow:
        late = await services.cancel_booking(uow, world.clock, world.principal, booked.ref)
    assert (late.status, late.refund_amount) == ("cancelled", 0)
    held = await world.hold(1, start_h=10)
    async with world.uow() as uow:
        released = await services.cancel_booking(uow, world.clock, world.principal, held.ref)
    assert released.status == "cancelled" and await world.feed_booking(held.ref) is None


async def test_a_reschedule_keeps_the_booking_when_free_and_leaves_it_as_it_was_when_not(
    world: World,
) -> None:
    moving = await world.hold(0, start_h=26)
    await world.confirm(moving.ref, "wx-4")
    other = await world.hold(0, start_h=30)
    async with world.uow() as uow:
        with pytest.raises(SlotTaken) as err:
            await services.reschedule(
                uow,
                world.clock,
                world.principal,
                moving.ref,
                starts_at=world.at(29.5),
                ends_at=world.at(30.5),
            )
    assert err.value.extra["conflict"]["starts_at"] == world.at(30).isoformat()
    unchanged = await world.booking(moving.ref)
    assert (unchanged.starts_at, unchanged.status) == (world.at(26), "confirmed")
    async with world.uow() as uow:
        moved = await services.reschedule(
            uow,
            world.clock,
            world.principal,
            moving.ref,
            starts_at=world.at(26.5),
            ends_at=world.at(28.5),
            room_id=world.rooms[0],
        )
    assert (moved.ref, moved.order_no, moved.status) == (moving.ref, moving.order_no, "confirmed")
    assert (moved.starts_at, moved.occupied_until, moved.price_total) == (world.at(26.5), world.at(29), 12000)
    payload = await world.feed_booking(moving.ref)
    assert payload is not None and payload["starts_at"] == int(world.at(26.5).timestamp())
    # Moving onto its own old time is fine (it excludes itself); another room of the store too.
    async with world.uow() as uow:
        await services.reschedule(
            uow,
            world.clock,
            world.principal,
            moving.ref,
            starts_at=world.at(26),
            ends_at=world.at(27),
            room_id=world.rooms[2],
        )
    assert other.status == "held"


async def test_a_confirmed_booking_cannot_move_inside_its_notice(world: World) -> None:
    booking = await world.hold(0, start_h=1.5)
    await world.confirm(booking.ref, "wx-5")
    world.clock.advance(40 * 60)  # 50 minutes before; the notice is 60
    async with world.uow() as uow:
        with pytest.raises(Conflict) as err:
            await services.reschedule(
                uow, world.clock, world.principal, booking.ref, starts_at=world.at(5), ends_at=world.at(6)
            )
    assert err.value.code == "reschedule_closed"


async def test_the_sweeper_expires_unpaid_holds_and_closes_finished_sessions(world: World) -> None:
    stale = await world.hold(0, start_h=5)
    paid = await world.hold(1, start_h=1)
    await world.confirm(paid.ref, "wx-6")
    async with world.sessionmaker() as session:
        await services.mark_redeemed(
            session, world.clock, store_id=world.store_id, ref=paid.ref, actor="edge:e1"
        )
        await session.commit()
    world.clock.advance(3 * 3600)  # past the hold's deadline and the session's end plus cleaning
    report = await sweeper.sweep(world.sessionmaker, world.clock, world.notifier)
    assert (report.expired, report.completed) == (1, 1)
    assert (await world.booking(stale.ref)).status == "expired"
    assert (await world.booking(paid.ref)).status == "completed"
    assert (await world.feed_booking(paid.ref) or {})["status"] == "completed"
    again = await sweeper.sweep(world.sessionmaker, world.clock)
    assert (again.expired, again.completed) == (0, 0)


async def test_blocked_time_refuses_bookings_and_a_live_booking_refuses_a_manual_block(world: World) -> None:
    async with world.uow() as uow:
        block = await blocks.create_block(
            uow,
            world.clock,
            world.principal,
            room_id=world.rooms[2],
            starts_at=world.at(30),
            ends_at=world.at(34),
            kind="maintenance",
            title="AC repair",
        )
    with pytest.raises(SlotTaken) as err:
        await world.hold(2, start_h=29)  # its cleaning would run into the block
    assert err.value.extra["conflict"]["kind"] == "block"
    booked = await world.hold(2, start_h=36)
    async with world.uow() as uow:
        with pytest.raises(SlotTaken):
            await blocks.create_block(
                uow,
                world.clock,
                world.principal,
                room_id=world.rooms[2],
                starts_at=world.at(36),
                ends_at=world.at(37),
                kind="manual",
                title="",
            )
    async with world.uow() as uow:
        await blocks.delete_block(uow, world.clock, world.principal, block.id)
    assert (await world.hold(2, start_h=30)).status == "held"
    assert booked.status == "held"


async def test_a_film_schedule_blocks_halls_reports_clashes_and_reimports_idempotently(world: World) -> None:
    async with world.uow() as uow:
        await tenancy.update_room(
            uow, world.clock, world.principal, world.rooms[0], tenancy.RoomChanges(name="Hall 1")
        )
    clash = await world.hold(0, start_h=28)  # Tuesday 12:00-13:00 local
    schedule = (
        b"hall,start,end,title\n"
        b"Hall 1,2030-01-08 10:00,2030-01-08 12:00,Early film\n"
        b"Hall 1,2030-01-08 12:30,2030-01-08 14:30,Clashing film\n"
    )
    async with world.uow() as uow:
        first = await blocks.import_film_schedule(uow, world.clock, world.principal, world.store_id, schedule)
    assert (first.rows, first.created, first.unchanged, first.removed) == (2, 2, 0, 0)
    assert [(c["row"], c["with"]["ref"]) for c in first.clashes] == [(3, clash.ref)], "reported, not dropped"
    async with world.uow() as uow:
        again = await blocks.import_film_schedule(uow, world.clock, world.principal, world.store_id, schedule)
    assert (again.created, again.updated, again.unchanged, again.removed) == (0, 0, 2, 0)
    corrected = (
        b"hall,start,end,title\n"
        b"Hall 1,2030-01-08 10:00,2030-01-08 12:00,Early film (3D)\n"
        b"Hall 1,2030-01-08 15:00,2030-01-08 17:00,Moved film\n"
    )
    async with world.uow() as uow:
        moved = await blocks.import_film_schedule(
            uow, world.clock, world.principal, world.store_id, corrected
        )
    assert (moved.created, moved.updated, moved.unchanged, moved.removed, moved.clashes) == (1, 1, 0, 1, [])
    with pytest.raises(SlotTaken):
        await world.hold(0, start_h=31.5)  # 15:30 local: the moved film
    async with world.sessionmaker() as session:
        listed = await blocks.list_blocks(session, world.principal, world.store_id, world.at(0), world.at(48))
    assert [(b.title, b.kind) for b in listed] == [("Early film (3D)", "film"), ("Moved film", "film")]


async def test_a_block_import_with_a_bad_row_changes_nothing(world: World) -> None:
    bad = (
        b"hall,start,end,title\n"
        b"Room 0,2030-01-08 10:00,2030-01-08 12:00,A\n"
        b"Nowhere,2030-01-08 10:00,2030-01-08 11:00,B\n"
    )
    async with world.uow() as uow:
        with pytest.raises(Invalid) as err:
            await blocks.import_film_schedule(uow, world.clock, world.principal, world.store_id, bad)
    assert err.value.extra["errors"][0]["row"] == 3
    async with world.sessionmaker() as session:
        assert (
            await blocks.list_blocks(session, world.principal, world.store_id, world.at(0), world.at(72))
            == []
        )


async def test_postgresql_holds_the_no_overlap_rule_itself_and_the_violation_names_the_winner(
    world: World, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    winner = await world.hold(0, start_h=26, hours=2)
    async with world.sessionmaker() as session:
        extensions = await session.scalar(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'")
        )
        assert extensions == 1
        # A writer that skips the service's checks still cannot overlap (the cleaning gap included).
        intruder = Booking(
            **{
                **{c.key: getattr(winner, c.key) for c in Booking.__table__.columns},
                "ref": "BINTRUDER01",
                "order_no": "9999999999",
                "starts_at": world.at(28.25),
                "ends_at": world.at(29),
                "occupied_until": world.at(29.5),
            }
        )
        session.add(intruder)
        with pytest.raises(IntegrityError) as err:
            await session.flush()
        assert occupancy.is_overlap_violation(err.value)
        await session.rollback()
        wanted = TimeRange(world.at(28.25), world.at(29.5))
        with pytest.raises(SlotTaken) as named:
            async with occupancy.overlap_guard(session, world.rooms[0], wanted, world.clock.now()):
                session.add(
                    Booking(**{**{c.key: getattr(intruder, c.key) for c in Booking.__table__.columns}})
                )
                await session.flush()
    assert named.value.extra["conflict"]["starts_at"] == world.at(26).isoformat()
    assert named.value.extra["conflict"]["occupied_until"] == world.at(28.5).isoformat()
