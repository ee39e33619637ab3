"""A booking world on a real database for service tests: a tenant, a store, priced rooms, a fake clock."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.auth.model import Principal
from cloud.auth.services import create_tenant_with_token
from cloud.booking import services
from cloud.booking.tables import Booking
from cloud.clock import FakeClock
from cloud.crypto import FieldCipher
from cloud.db import make_engine, make_sessionmaker
from cloud.edgelink import feed
from cloud.edgelink.model import FeedEntity
from cloud.tenancy import services as tenancy
from cloud.uow import UnitOfWork

# Monday 2030-01-07, 08:00 in Shanghai.
START = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
PLAN: dict[str, Any] = {
    "weekday": [{"from": "00:00", "to": "24:00", "per_hour": 6000}],
    "holiday": [{"from": "00:00", "to": "24:00", "per_hour": 9000}],
}


class RecordingNotifier:
    """Remembers which stores' data changed (after commit)."""

    def __init__(self) -> None:
        self.changed_stores: list[str] = []

    def changed(self, store_id: str) -> None:
        """Record the store."""
        self.changed_stores.append(store_id)


@dataclass
class World:
    """A tenant with one 24-hour store of priced rooms (capacity 1..6), on its own database."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: FakeClock
    cipher: FieldCipher
    principal: Principal
    store_id: str
    rooms: list[str]
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work on a fresh session."""
        async with self.sessionmaker() as session:
            yield UnitOfWork(session, self.notifier)

    def at(self, hours: float) -> datetime:
        """START plus hours."""
        return START + timedelta(hours=hours)

    async def hold(self, room: int, start_h: float, hours: float = 1, **kwargs: Any) -> Booking:
        """Hold rooms[room] from START + start_h for hours."""
        async with self.uow() as uow:
            return await services.hold(
                uow,
                self.clock,
                self.cipher,
                self.principal,
                room_id=self.rooms[room],
                starts_at=self.at(start_h),
                ends_at=self.at(start_h + hours),
                party_size=kwargs.pop("party_size", 2),
                customer_name="Li Lei",
                phone="13800001234",
                **kwargs,
            )

    async def confirm(self, ref: str, payment_ref: str = "pay-1", amount: int | None = None) -> Booking:
        """Confirm a hold as the payment provider would."""
        async with self.uow() as uow:
            return await services.confirm_payment(
                uow, self.clock, ref=ref, payment_ref=payment_ref, amount_paid=amount
            )

    async def booking(self, ref: str) -> Booking:
        """The booking as stored now."""
        async with self.sessionmaker() as session:
            row = await session.scalar(select(Booking).where(Booking.ref == ref))
            assert row is not None
            return row

    async def feed_booking(self, ref: str) -> dict[str, Any] | None:
        """The booking's item in the store feed (None: the edge was never told)."""
        async with self.sessionmaker() as session:
            batch = await feed.read_sync(session, self.store_id, 0, self.clock.now())
        for item in batch.items:
            if item.entity is FeedEntity.BOOKING and item.entity_id == ref:
                return item.payload
        return None


async def make_world(db_url: str, rooms: int = 3, **store: Any) -> World:
    """Create a tenant, a store (Asia/Shanghai, open around the clock unless told) and priced rooms."""
    engine = make_engine(db_url)
    sessionmaker = make_sessionmaker(engine)
    clock = FakeClock(START)
    cipher = FieldCipher(secrets.token_bytes(32))
    async with sessionmaker() as session:
        tenant, _ = await create_tenant_with_token(session, f"World {uuid.uuid4().hex[:8]}", clock=clock)
        principal = Principal(tenant_id=tenant.id, actor="test")
        uow = UnitOfWork(session)
        region = await tenancy.create_region(uow, clock, principal, "Region")
        created = await tenancy.create_store(
            uow,
            clock,
            cipher,
            principal,
            region_id=region.id,
            name="Store",
            timezone="Asia/Shanghai",
            **store,
        )
        details = tenancy.RoomDetails(capacity_min=1, capacity_max=6, price_plan=PLAN)
        room_ids = [
            (
                await tenancy.create_room(
                    uow,
                    clock,
                    principal,
                    store_id=created.id,
                    name=f"Room {i}",
                    kind="mahjong",
                    details=details,
                )
            ).id
            for i in range(rooms)
        ]
    return World(engine, sessionmaker, clock, cipher, principal, created.id, room_ids)
