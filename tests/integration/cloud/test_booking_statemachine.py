"""Random holds, payments, cancellations, reschedules and expiries against a simple model, on both databases.

After every step the database's live bookings must be exactly the model's, and no two of a room
may overlap (cleaning gap included).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from cloud.booking import model, services, sweeper
from cloud.booking.model import HoldExpired, InvalidTransition, RescheduleClosed, SlotTaken
from cloud.booking.tables import Booking
from tests.integration.cloud.booking_support import START, World, make_world

T = TypeVar("T")
GAP = timedelta(minutes=30)  # the default cleaning gap
HOLD = timedelta(minutes=15)  # the default hold time
BASE = START + timedelta(days=1)  # 08:00 in Shanghai the next day
ROOMS = 2
MAX_EXAMPLES = int(os.environ.get("GH_BOOKING_EXAMPLES", "25"))


@dataclass
class Item:
    """The model of one booking."""

    ref: str
    room: int
    start: datetime
    end: datetime
    status: str
    expires: datetime | None
    paid: bool = False

    def live(self, now: datetime) -> bool:
        if self.status == "held":
            return self.expires is not None and self.expires > now
        return self.status == "confirmed"

    def overlaps(self, room: int, start: datetime, end: datetime) -> bool:
        return self.room == room and self.start < end + GAP and start < self.end + GAP


def slot(index: int, halves: int) -> tuple[datetime, datetime]:
    start = BASE + timedelta(minutes=30 * index)
    return start, start + timedelta(minutes=30 * halves)


def machine_for(db_url: str, runner: asyncio.Runner) -> type[RuleBasedStateMachine]:
    """A state machine class driving the services on db_url through runner's loop."""

    def run(coro: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coro

        return runner.run(wrapped())

    class BookingMachine(RuleBasedStateMachine):
        """Holds, confirms, cancels, reschedules, time passing and sweeps of two rooms."""

        refs = Bundle("refs")

        def __init__(self) -> None:
            super().__init__()
            self.world: World = run(make_world(db_url, rooms=ROOMS))
            self.items: dict[str, Item] = {}

        @property
        def now(self) -> datetime:
            return self.world.clock.now()

        def blocking(
            self, room: int, start: datetime, end: datetime, exclude: str | None = None
        ) -> list[Item]:
            return [
                i
                for i in self.items.values()
                if i.ref != exclude and i.live(self.now) and i.overlaps(room, start, end)
            ]

        @rule(target=refs, room=st.integers(0, ROOMS - 1), index=st.integers(0, 23), halves=st.integers(2, 4))
        def hold(self, room: int, index: int, halves: int) -> object:
            start, end = slot(index, halves)
            expected = self.blocking(room, start, end)
            try:
                booking = run(self.world.hold(room, (start - START).total_seconds() / 3600, halves / 2))
            except SlotTaken as err:
                assert expected, "refused a free slot"
                assert err.extra["conflict"]["starts_at"] in {i.start.isoformat() for i in expected}
                return multiple()
            assert not expected, f"held over {[i.ref for i in expected]}"
            self.items[booking.ref] = Item(booking.ref, room, start, end, "held", self.now + HOLD)
            return booking.ref

        @rule(ref=refs)
        def confirm(self, ref: str) -> None:
            item = self.items[ref]
            try:
                booking = run(self.world.confirm(ref, f"pay-{ref}"))
            except HoldExpired:
                assert item.status in ("held", "expired") and not item.live(self.now)
                item.status = "expired"
                return
            except InvalidTransition:
                assert item.status == "cancelled" and not item.paid
                return
            if item.paid:  # a repeated payment callback: nothing changes
                assert booking.status == item.status
                return
            assert item.live(self.now)
            item.status, item.expires, item.paid = "confirmed", None, True

        @rule(ref=refs)
        def cancel(self, ref: str) -> None:
            item = self.items[ref]

            async def go() -> str:
                async with self.world.uow() as uow:
                    booking = await services.cancel_booking(uow, self.world.clock, self.world.principal, ref)
                    return booking.status

            try:
                status = run(go())
            except InvalidTransition:
                assert item.status in ("cancelled", "expired") or (
                    item.status == "held" and not item.live(self.now)
                )
                item.status = "expired" if item.status == "held" else item.status
                return
            if item.status == "held" and not item.live(self.now):
                assert status == "expired"
            else:
                assert item.status in ("held", "confirmed") and status == "cancelled"
            item.status = status

        @rule(ref=refs, index=st.integers(0, 23), halves=st.integers(2, 4))
        def reschedule(self, ref: str, index: int, halves: int) -> None:
            item = self.items[ref]
            start, end = slot(index, halves)

            async def go() -> Booking:
                async with self.world.uow() as uow:
                    return await services.reschedule(
                        uow, self.world.clock, self.world.principal, ref, starts_at=start, ends_at=end
                    )

            try:
                run(go())
            except HoldExpired:
                # Swept already, or past its deadline (expired by this call or another transaction).
                assert item.status == "expired" or (item.status == "held" and not item.live(self.now))
                item.status = "expired"
                return
            except RescheduleClosed:
                assert item.status == "cancelled"
                return
            except SlotTaken:
                assert item.live(self.now)
                assert self.blocking(item.room, start, end, exclude=ref), "refused a free slot"
                return
            assert item.live(self.now) and not self.blocking(item.room, start, end, exclude=ref)
            item.start, item.end = start, end

        @rule(minutes=st.integers(1, 20))
        def time_passes(self, minutes: int) -> None:
            self.world.clock.advance(minutes * 60)

        @rule()
        def sweep(self) -> None:
            # The sweeper serves the whole database (other examples' stores too): check this store.
            run(sweeper.sweep(self.world.sessionmaker, self.world.clock))

            async def lapsed() -> int:
                async with self.world.sessionmaker() as session:
                    rows = await session.scalars(
                        select(Booking.ref).where(
                            Booking.store_id == self.world.store_id,
                            Booking.status == "held",
                            Booking.hold_expires_at <= self.now,
                        )
                    )
                    return len(list(rows))

            assert run(lapsed()) == 0, "a hold past its deadline survived the sweep"
            for item in self.items.values():
                if item.status == "held" and not item.live(self.now):
                    item.status = "expired"

        @invariant()
        def the_database_holds_exactly_the_model_s_live_bookings_without_overlap(self) -> None:
            async def live_rows() -> list[tuple[str, str, datetime, datetime, datetime]]:
                async with self.world.sessionmaker() as session:
                    rows = await session.execute(
                        select(
                            Booking.ref,
                            Booking.room_id,
                            Booking.starts_at,
                            Booking.ends_at,
                            Booking.occupied_until,
                        ).where(
                            Booking.store_id == self.world.store_id,
                            Booking.status.in_([s.value for s in model.OCCUPYING]),
                            (Booking.status != "held") | (Booking.hold_expires_at > self.now),
                        )
                    )
                    return [tuple(r) for r in rows]  # type: ignore[misc]

            rows = run(live_rows())
            expected = {
                (i.ref, self.world.rooms[i.room], i.start, i.end)
                for i in self.items.values()
                if i.live(self.now)
            }
            assert {(ref, room, start, end) for ref, room, start, end, _ in rows} == expected
            for room in self.world.rooms:
                taken = sorted((start, until) for _, r, start, _, until in rows if r == room)
                for (_, until), (start, _) in itertools.pairwise(taken):
                    assert until <= start, f"overlap in {room}"

        def teardown(self) -> None:
            run(self.world.engine.dispose())

    return BookingMachine


def _run_machine(db_url: str) -> None:
    with asyncio.Runner() as runner:
        run_state_machine_as_test(
            machine_for(db_url, runner),
            settings=settings(
                max_examples=MAX_EXAMPLES,
                stateful_step_count=20,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )


async def test_random_holds_payments_cancels_moves_and_expiries_match_the_model(db_url: str) -> None:
    # Hypothesis drives a synchronous machine: it runs in a thread with an event loop of its own.
    await asyncio.to_thread(_run_machine, db_url)
