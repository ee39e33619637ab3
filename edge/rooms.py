"""One asyncio lock per room, shared by everything that acts on a room's devices and session."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class RoomLocks:
    """`async with locks[room_id]:` serializes redemption, timers and commands of one room."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def __getitem__(self, room_id: str) -> asyncio.Lock:
        return self._locks[room_id]
