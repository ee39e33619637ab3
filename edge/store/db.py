"""The edge's local SQLite cache and outbox, run on one dedicated thread (one writer, short transactions)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from edge.records import (
    Booking,
    Change,
    Device,
    ItemKind,
    NewEvent,
    OutboxEvent,
    Redemption,
    Room,
    RoomSession,
    StoreInfo,
    Tombstone,
)
from edge.sessions.model import RoomState
from edge.store.schema import SCHEMA, SCHEMA_VERSION

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BATCH = 500
_CURSOR_KEY = "cursor"

# Deleting an item of each kind: table and key column.
_TABLES: dict[ItemKind, tuple[str, str]] = {
    ItemKind.STORE: ("store_info", "id"),
    ItemKind.ROOM: ("rooms", "id"),
    ItemKind.DEVICE: ("devices", "id"),
    ItemKind.BOOKING: ("bookings", "ref"),
}


class StoreClosed(RuntimeError):
    """The store was used before open() or after close()."""

    code = "store_closed"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # BEGIN IMMEDIATE takes the write lock up front so a transaction never fails half way on upgrade.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _upsert(conn: sqlite3.Connection, item: Change) -> None:
    match item:
        case Tombstone(kind=kind, id=item_id):
            table, key = _TABLES[kind]
            conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (item_id,))  # table names come from _TABLES
        case StoreInfo():
            conn.execute(
                "INSERT INTO store_info (id, tenant_id, name, timezone, early_grace_s, key_versions_json)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id,"
                " name = excluded.name, timezone = excluded.timezone,"
                " early_grace_s = excluded.early_grace_s, key_versions_json = excluded.key_versions_json",
                (
                    item.id,
                    item.tenant_id,
                    item.name,
                    item.timezone,
                    item.early_grace_s,
                    _dumps(list(item.key_versions)),
                ),
            )
        case Room():
            conn.execute(
                "INSERT INTO rooms (id, name, kind) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " name = excluded.name, kind = excluded.kind",
                (item.id, item.name, item.kind),
            )
        case Device():
            conn.execute(
                "INSERT INTO devices (id, room_id, kind, protocol, config_json) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET room_id = excluded.room_id, kind = excluded.kind,"
                " protocol = excluded.protocol, config_json = excluded.config_json",
                (item.id, item.room_id, item.kind, item.protocol, _dumps(dict(item.config))),
            )
        case Booking():
            conn.execute(
                "INSERT INTO bookings (ref, room_id, starts_at, ends_at, order_no, phone_last4, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET room_id = excluded.room_id,"
                " starts_at = excluded.starts_at, ends_at = excluded.ends_at, order_no = excluded.order_no,"
                " phone_last4 = excluded.phone_last4, status = excluded.status",
                (
                    item.ref,
                    item.room_id,
                    item.starts_at,
                    item.ends_at,
                    item.order_no,
                    item.phone_last4,
                    item.status,
                ),
            )


def _insert_events(conn: sqlite3.Connection, events: Iterable[NewEvent]) -> list[int]:
    seqs: list[int] = []
    for event in events:
        cur = conn.execute(
            "INSERT INTO outbox (kind, occurred_at_ms, payload_json) VALUES (?, ?, ?)",
            (event.kind, event.occurred_at_ms, _dumps(dict(event.payload))),
        )
        assert cur.lastrowid is not None
        seqs.append(cur.lastrowid)
    return seqs


def _store_info(row: sqlite3.Row) -> StoreInfo:
    return StoreInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        timezone=row["timezone"],
        early_grace_s=row["early_grace_s"],
        key_versions=tuple(json.loads(row["key_versions_json"])),
    )


def _room(row: sqlite3.Row) -> Room:
    return Room(id=row["id"], name=row["name"], kind=row["kind"])


def _device(row: sqlite3.Row) -> Device:
    return Device(
        id=row["id"],
        kind=row["kind"],
        protocol=row["protocol"],
        room_id=row["room_id"],
        config=json.loads(row["config_json"]),
    )


def _booking(row: sqlite3.Row) -> Booking:
    return Booking(
        ref=row["ref"],
        room_id=row["room_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        order_no=row["order_no"],
        phone_last4=row["phone_last4"],
        status=row["status"],
    )


def _session(row: sqlite3.Row) -> RoomSession:
    return RoomSession(
        room_id=row["room_id"],
        state=RoomState(row["state"]),
        booking_ref=row["booking_ref"],
        started_at=row["started_at"],
        ends_at=row["ends_at"],
    )


class EdgeStore:
    """The edge's SQLite database: store-data cache, room sessions, redemptions, outbox, command results.

    Every call runs on one dedicated thread with one connection, so writes are serialized and each
    write is one short transaction. `outbox_changed` is set after every commit that adds events.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.outbox_changed = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # ---- lifetime ----

    async def open(self) -> None:
        """Create or open the database file (WAL, synchronous=FULL) and its schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-store")
        await self._run(self._connect)
        if await self.outbox_depth():
            self.outbox_changed.set()
        logger.info("edge store open", extra={"path": str(self.path)})

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed outbox event survives power loss, not just a process crash.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise RuntimeError(f"edge.db schema version {version} is newer than this software")
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._conn = conn
        try:
            self.path.chmod(0o600)
        except OSError:
            logger.warning("cannot restrict edge.db permissions", extra={"path": str(self.path)})

    async def close(self) -> None:
        """Close the connection and stop the store thread."""
        if self._executor is None:
            return
        try:
            await self._run(self._disconnect)
        finally:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreClosed("edge store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self._conn is None:
                raise StoreClosed("edge store is not open")
            return fn(self._conn)

        return await self._run(run)

    # ---- store data ----

    async def cursor(self) -> int:
        """The cursor of the last store data applied (0: none)."""

        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_CURSOR_KEY,)).fetchone()
            return int(row[0]) if row else 0

        return await self._call(read)

    async def apply_store_data(self, snapshot: bool, cursor: int, changes: Sequence[Change]) -> None:
        """Apply a snapshot (replacing all store data) or a delta, and its cursor, in one transaction."""
        items = list(changes)

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                if snapshot:
                    for table, _ in _TABLES.values():
                        conn.execute(f"DELETE FROM {table}")  # table names come from _TABLES
                for item in items:
                    _upsert(conn, item)
                # A delta never moves the cursor back (a late duplicate is applied harmlessly).
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value ="
                    " CASE WHEN ? THEN excluded.value"
                    " ELSE MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) END",
                    (_CURSOR_KEY, cursor, snapshot),
                )

        await self._call(write)

    async def store_info(self) -> StoreInfo | None:
        """The store's info, if received."""

        def read(conn: sqlite3.Connection) -> StoreInfo | None:
            row = conn.execute("SELECT * FROM store_info ORDER BY id LIMIT 1").fetchone()
            return _store_info(row) if row else None

        return await self._call(read)

    async def rooms(self) -> list[Room]:
        """Every room, by id."""
        return await self._call(lambda c: [_room(r) for r in c.execute("SELECT * FROM rooms ORDER BY id")])

    async def room(self, room_id: str) -> Room | None:
        """One room."""

        def read(conn: sqlite3.Connection) -> Room | None:
            row = conn.execute("SELECT * FROM rooms WHERE id = ?", (room_id,)).fetchone()
            return _room(row) if row else None

        return await self._call(read)

    async def devices(self) -> list[Device]:
        """Every device record, by id."""
        return await self._call(
            lambda c: [_device(r) for r in c.execute("SELECT * FROM devices ORDER BY id")]
        )

    async def device(self, device_id: str) -> Device | None:
        """One device record."""

        def read(conn: sqlite3.Connection) -> Device | None:
            row = conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
            return _device(row) if row else None

        return await self._call(read)

    async def booking(self, ref: str) -> Booking | None:
        """One cached booking."""

        def read(conn: sqlite3.Connection) -> Booking | None:
            row = conn.execute("SELECT * FROM bookings WHERE ref = ?", (ref,)).fetchone()
            return _booking(row) if row else None

        return await self._call(read)

    async def bookings_by_order(self, order_no: str) -> list[Booking]:
        """Cached bookings of an order number (one per room booked), by start."""
        return await self._call(
            lambda c: [
                _booking(r)
                for r in c.execute(
                    "SELECT * FROM bookings WHERE order_no = ? ORDER BY starts_at, ref", (order_no,)
                )
            ]
        )

    async def bookings_between(self, start: float, end: float) -> list[Booking]:
        """Cached bookings overlapping [start, end), by start."""
        return await self._call(
            lambda c: [
                _booking(r)
                for r in c.execute(
                    "SELECT * FROM bookings WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at, ref",
                    (end, start),
                )
            ]
        )

    # ---- local state ----

    async def session(self, room_id: str) -> RoomSession:
        """A room's session (free when none was recorded)."""

        def read(conn: sqlite3.Connection) -> RoomSession:
            row = conn.execute("SELECT * FROM room_sessions WHERE room_id = ?", (room_id,)).fetchone()
            return _session(row) if row else RoomSession(room_id=room_id)

        return await self._call(read)

    async def sessions(self) -> dict[str, RoomSession]:
        """Every recorded room session by room id."""
        return await self._call(
            lambda c: {r["room_id"]: _session(r) for r in c.execute("SELECT * FROM room_sessions")}
        )

    async def redemption(self, booking_ref: str) -> Redemption | None:
        """The redemption of a booking at this edge, if any."""

        def read(conn: sqlite3.Connection) -> Redemption | None:
            row = conn.execute("SELECT * FROM redemptions WHERE booking_ref = ?", (booking_ref,)).fetchone()
            if row is None:
                return None
            return Redemption(row["booking_ref"], row["room_id"], row["at"], bool(row["known"]))

        return await self._call(read)

    async def record(
        self,
        events: Sequence[NewEvent],
        *,
        session: RoomSession | None = None,
        redemption: Redemption | None = None,
    ) -> list[int]:
        """Write a session change, a redemption and their outbox events in one transaction; return seqs."""
        batch = list(events)

        def write(conn: sqlite3.Connection) -> list[int]:
            with _transaction(conn):
                if session is not None:
                    conn.execute(
                        "INSERT INTO room_sessions (room_id, state, booking_ref, started_at, ends_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state,"
                        " booking_ref = excluded.booking_ref, started_at = excluded.started_at,"
                        " ends_at = excluded.ends_at",
                        (
                            session.room_id,
                            session.state.value,
                            session.booking_ref,
                            session.started_at,
                            session.ends_at,
                        ),
                    )
                if redemption is not None:
                    conn.execute(
                        "INSERT INTO redemptions (booking_ref, room_id, at, known) VALUES (?, ?, ?, ?)",
                        (redemption.booking_ref, redemption.room_id, redemption.at, int(redemption.known)),
                    )
                return _insert_events(conn, batch)

        seqs = await self._call(write)
        if seqs:
            self.outbox_changed.set()
        return seqs

    async def append_events(self, events: Sequence[NewEvent]) -> list[int]:
        """Append events to the outbox in one transaction; return their seqs."""
        return await self.record(events)

    # ---- outbox ----

    async def outbox_after(self, seq: int, limit: int = MAX_BATCH) -> list[OutboxEvent]:
        """Up to `limit` outbox events with seq > `seq`, in seq order."""
        return await self._call(
            lambda c: [
                OutboxEvent(r["seq"], r["kind"], r["occurred_at_ms"], r["payload_json"])
                for r in c.execute(
                    "SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (seq, min(limit, MAX_BATCH))
                )
            ]
        )

    async def outbox_depth(self) -> int:
        """How many events wait for the cloud's acknowledgement."""
        return await self._call(lambda c: int(c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]))

    async def ack(self, seqs: Sequence[int]) -> int:
        """Delete acknowledged events; return how many were deleted."""
        batch = [(int(s),) for s in seqs]

        def write(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                before = conn.total_changes
                conn.executemany("DELETE FROM outbox WHERE seq = ?", batch)
                return conn.total_changes - before

        return await self._call(write) if batch else 0

    # ---- commands ----

    async def command_result(self, command_id: str) -> str | None:
        """The stored result (JSON) of a command, if it ran before."""

        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT result_json FROM command_results WHERE command_id = ?", (command_id,)
            ).fetchone()
            return str(row[0]) if row else None

        return await self._call(read)

    async def save_command_result(self, command_id: str, result_json: str, at: float) -> str:
        """Keep a command's first result; return the result stored for that id (the first one)."""

        def write(conn: sqlite3.Connection) -> str:
            with _transaction(conn):
                conn.execute(
                    "INSERT INTO command_results (command_id, result_json, at) VALUES (?, ?, ?)"
                    " ON CONFLICT (command_id) DO NOTHING",
                    (command_id, result_json, at),
                )
                row = conn.execute(
                    "SELECT result_json FROM command_results WHERE command_id = ?", (command_id,)
                ).fetchone()
                return str(row[0])

        return await self._call(write)

    async def prune_command_results(self, before: float) -> int:
        """Forget command results older than `before` (unix seconds)."""

        def write(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                return conn.execute("DELETE FROM command_results WHERE at < ?", (before,)).rowcount

        return await self._call(write)
