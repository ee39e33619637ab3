"""The whole chain on loopback: real cloud, real edge daemons, simulated devices over real protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gatehouse.chain import ChainStore, DemoChain, RoomDevices, draw_code
from tests.support.waiting import eventually


@pytest.fixture
async def chain(tmp_path: Path) -> AsyncIterator[DemoChain]:
    """The demo chain with the edge of Demo Store A running (locks relock after 0.2 s)."""
    async with DemoChain(tmp_path, relock_after_s=0.2, edges=["Demo Store A"]) as running:
        yield running


def this_hour() -> tuple[datetime, datetime]:
    """A booking window that started this minute and lasts an hour."""
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    return start, start + timedelta(hours=1)


async def book_now(chain: DemoChain, room: RoomDevices) -> dict[str, Any]:
    """A confirmed booking of room for the coming hour."""
    start, end = this_hour()
    return await chain.book(room.id, start, end)


async def scan(store: ChainStore, room: RoomDevices, booking: dict[str, Any], now: float) -> None:
    """Present the booking's current code to the room's door scanner."""
    assert store.devices is not None
    scanner = store.devices.scanner(room.scanner)
    sent = scanner.scans
    await scanner.scan(draw_code(booking, now))
    assert scanner.scans == sent + 1, "the scanner was off the broker: the scan was not sent"


async def door_opened(store: ChainStore, room: RoomDevices, times: int) -> None:
    """Wait until the room's simulated lock has been unlocked `times` times in all."""
    assert store.devices is not None
    lock = store.devices.lock(room.lock)

    async def unlocked() -> bool:
        return lock.unlocks >= times

    await eventually(unlocked, what=f"{times} unlocks of {room.name}")


async def booking_status(chain: DemoChain, ref: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the cloud shows the booking in status; return it."""

    async def probe() -> dict[str, Any] | None:
        booking: dict[str, Any] = (await chain.client().get(f"/api/v1/bookings/{ref}")).json()
        return booking if booking.get("status") == status else None

    return await eventually(probe, timeout=timeout, what=f"booking {ref} {status}")


async def redemptions_of(chain: DemoChain, store: ChainStore, ref: str) -> list[dict[str, Any]]:
    """The cloud's redemptions of a booking."""
    rows: list[dict[str, Any]] = (await chain.client().get(f"/api/v1/stores/{store.id}/redemptions")).json()
    return [row for row in rows if row["booking_ref"] == ref]


async def edge_knows(store: ChainStore, booking: dict[str, Any]) -> None:
    """Wait until the store's edge has received the booking over the link."""
    edge = store.running_edge()

    async def known() -> bool:
        return await edge.store.booking(booking["ref"]) is not None

    await eventually(known, what=f"booking {booking['ref']} to reach the edge")
