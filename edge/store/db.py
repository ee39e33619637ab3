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

from edge.faults.model import Fault, Severity
from edge.journal.model import JournalEntry, chain_entry
from edge.listeners import Listeners
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
    ServiceCall,
    Staff,
    StoreInfo,
    Tombstone,
)
from edge.sessions.model import RoomState, Timer, TimerKind
from edge.store.schema import ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION

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
    ItemKind.STAFF: ("staff", "id"),
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
            settings = {"chain": dict(item.chain_settings), "store": dict(item.store_settings)}
            conn.execute(
                "INSERT INTO store_info (id, tenant_id, name, timezone, early_grace_s, key_versions_json,"
                " settings_json) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " tenant_id = excluded.tenant_id, name = excluded.name, timezone = excluded.timezone,"
                " early_grace_s = excluded.early_grace_s, key_versions_json = excluded.key_versions_json,"
                " settings_json = excluded.settings_json",
                (
                    item.id,
                    item.tenant_id,
                    item.name,
                    item.timezone,
                    item.early_grace_s,
                    _dumps(list(item.key_versions)),
                    _dumps(settings),
                ),
            )
        case Room():
            conn.execute(
                "INSERT INTO rooms (id, name, kind, settings_json, zone) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
                " settings_json = excluded.settings_json, zone = excluded.zone",
                (item.id, item.name, item.kind, _dumps(dict(item.type_settings)), item.zone),
            )
        case Device():
            conn.execute(
                "INSERT INTO devices (id, room_id, kind, protocol, config_json, zone)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET room_id = excluded.room_id,"
                " kind = excluded.kind, protocol = excluded.protocol, config_json = excluded.config_json,"
                " zone = excluded.zone",
                (item.id, item.room_id, item.kind, item.protocol, _dumps(dict(item.config)), item.zone),
            )
        case Staff():
            conn.execute(
                "INSERT INTO staff (id, username, username_key, display_name, role, password_hash, active)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET username = excluded.username,"
                " username_key = excluded.username_key, display_name = excluded.display_name,"
                " role = excluded.role, password_hash = excluded.password_hash, active = excluded.active",
                (
                    item.id,
                    item.username,
                    item.username.lower(),
                    item.display_name,
                    item.role,
                    item.password_hash,
                    int(item.active),
                ),
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


def _int_map(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def _store_info(row: sqlite3.Row) -> StoreInfo:
    settings = json.loads(row["settings_json"] or "{}")
    return StoreInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        timezone=row["timezone"],
        early_grace_s=row["early_grace_s"],
        key_versions=tuple(json.loads(row["key_versions_json"])),
        chain_settings=_int_map(settings.get("chain")),
        store_settings=_int_map(settings.get("store")),
    )


def _room(row: sqlite3.Row) -> Room:
    return Room(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        type_settings=_int_map(json.loads(row["settings_json"] or "{}")),
        zone=row["zone"] or "",
    )


def _device(row: sqlite3.Row) -> Device:
    return Device(
        id=row["id"],
        kind=row["kind"],
        protocol=row["protocol"],
        room_id=row["room_id"],
        config=json.loads(row["config_json"]),
        zone=row["zone"] or "",
    )


def _staff(row: sqlite3.Row) -> Staff:
    return Staff(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        password_hash=row["password_hash"],
        active=bool(row["active"]),
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


def _redemption(row: sqlite3.Row) -> Redemption:
    return Redemption(row["booking_ref"], row["room_id"], row["at"], bool(row["known"]))


def _session(row: sqlite3.Row) -> RoomSession:
    return RoomSession(
        room_id=row["room_id"],
        state=RoomState(row["state"]),
        booking_ref=row["booking_ref"],
        started_at=row["started_at"],
        ends_at=row["ends_at"],
        since=row["since"],
    )


def _timer(row: sqlite3.Row) -> Timer:
    return Timer(row["room_id"], TimerKind(row["kind"]), row["due_at"], row["booking_ref"])


def _fault(row: sqlite3.Row) -> Fault:
    return Fault(
        id=row["id"],
        code=row["code"],
        severity=Severity(row["severity"]),
        message=row["message"],
        device_id=row["device_id"],
        device_kind=row["device_kind"],
        room_id=row["room_id"],
        raised_at=row["raised_at"],
        resolved_at=row["resolved_at"],
        zone=row["zone"] or "",
    )


def _journal(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        row["seq"], row["at_ms"], row["kind"], row["payload_json"], row["prev_hash"], row["hash"]
    )


def _service_call(row: sqlite3.Row) -> ServiceCall:
    return ServiceCall(
        row["id"],
        row["room_id"],
        row["reason"],
        row["note"],
        row["at"],
        row["command_id"],
        row["done_at"],
        row["done_by"],
    )


def _put_session(conn: sqlite3.Connection, session: RoomSession) -> None:
    conn.execute(
        "INSERT INTO room_sessions (room_id, state, booking_ref, started_at, ends_at, since)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET state = excluded.state,"
        " booking_ref = excluded.booking_ref, started_at = excluded.started_at,"
        " ends_at = excluded.ends_at, since = excluded.since",
        (
            session.room_id,
            session.state.value,
            session.booking_ref,
            session.started_at,
            session.ends_at,
            session.since,
        ),
    )


class Tx:
    """One write transaction on the store thread: reads see its own writes; all commit or none.

    Services compose a state change, its outbox events, faults and journal entries here, so they
    commit together (`EdgeStore.transact`). Pure rules decide; this only reads and writes rows.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.events_added = 0

    # ---- store data ----

    def store_info(self) -> StoreInfo | None:
        """The store's info, if received."""
        row = self.conn.execute("SELECT * FROM store_info ORDER BY id LIMIT 1").fetchone()
        return _store_info(row) if row else None

    def room(self, room_id: str) -> Room | None:
        """One room."""
        row = self.conn.execute("SELECT * FROM rooms WHERE id = ?", (room_id,)).fetchone()
        return _room(row) if row else None

    def booking(self, ref: str) -> Booking | None:
        """One cached booking."""
        row = self.conn.execute("SELECT * FROM bookings WHERE ref = ?", (ref,)).fetchone()
        return _booking(row) if row else None

    def device(self, device_id: str) -> Device | None:
        """One device record."""
        row = self.conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
        return _device(row) if row else None

    def redemption(self, booking_ref: str) -> Redemption | None:
        """The redemption of a booking at this edge, if any."""
        row = self.conn.execute("SELECT * FROM redemptions WHERE booking_ref = ?", (booking_ref,)).fetchone()
        return _redemption(row) if row else None

    # ---- sessions and timers ----

    def session(self, room_id: str) -> RoomSession:
        """A room's session (free when none was recorded)."""
        row = self.conn.execute("SELECT * FROM room_sessions WHERE room_id = ?", (room_id,)).fetchone()
        return _session(row) if row else RoomSession(room_id=room_id)

    def put_session(self, session: RoomSession, timers: Sequence[Timer]) -> None:
        """Write a room's session and replace all its timers."""
        _put_session(self.conn, session)
        self.conn.execute("DELETE FROM session_timers WHERE room_id = ?", (session.room_id,))
        self.conn.executemany(
            "INSERT INTO session_timers (room_id, kind, due_at, booking_ref) VALUES (?, ?, ?, ?)",
            [(t.room_id, t.kind.value, t.due_at, t.booking_ref) for t in timers],
        )

    def delete_timer(self, room_id: str, kind: TimerKind) -> None:
        """Drop one timer of a room."""
        self.conn.execute("DELETE FROM session_timers WHERE room_id = ? AND kind = ?", (room_id, kind.value))

    def put_timer(self, timer: Timer) -> None:
        """Set one timer of a room (replacing that kind's)."""
        self.conn.execute(
            "INSERT INTO session_timers (room_id, kind, due_at, booking_ref) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (room_id, kind) DO UPDATE SET due_at = excluded.due_at,"
            " booking_ref = excluded.booking_ref",
            (timer.room_id, timer.kind.value, timer.due_at, timer.booking_ref),
        )

    def timer(self, room_id: str, kind: TimerKind) -> Timer | None:
        """One timer of a room."""
        row = self.conn.execute(
            "SELECT * FROM session_timers WHERE room_id = ? AND kind = ?", (room_id, kind.value)
        ).fetchone()
        return _timer(row) if row else None

    # ---- events, redemptions ----

    def add_events(self, events: Iterable[NewEvent]) -> list[int]:
        """Append events to the outbox; return their seqs."""
        seqs = _insert_events(self.conn, events)
        self.events_added += len(seqs)
        return seqs

    def add_redemption(self, redemption: Redemption) -> None:
        """Record a redemption (a booking is redeemed at most once)."""
        self.conn.execute(
            "INSERT INTO redemptions (booking_ref, room_id, at, known) VALUES (?, ?, ?, ?)",
            (redemption.booking_ref, redemption.room_id, redemption.at, int(redemption.known)),
        )

    # ---- faults ----

    def open_fault(self, subject: str, code: str) -> Fault | None:
        """The open fault of a subject with this code, if any."""
        row = self.conn.execute(
            "SELECT * FROM faults WHERE subject = ? AND code = ? AND resolved_at IS NULL", (subject, code)
        ).fetchone()
        return _fault(row) if row else None

    def insert_fault(self, fault: Fault) -> None:
        """Record a new open fault."""
        self.conn.execute(
            "INSERT INTO faults (id, subject, device_id, device_kind, room_id, code, severity, message,"
            " raised_at, resolved_at, zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                fault.id,
                fault.subject,
                fault.device_id,
                fault.device_kind,
                fault.room_id,
                fault.code,
                fault.severity.value,
                fault.message,
                fault.raised_at,
                fault.zone,
            ),
        )

    def fault(self, fault_id: str) -> Fault | None:
        """One fault by id."""
        row = self.conn.execute("SELECT * FROM faults WHERE id = ?", (fault_id,)).fetchone()
        return _fault(row) if row else None

    def resolve_fault(self, fault_id: str, at: float) -> None:
        """Mark a fault resolved."""
        self.conn.execute(
            "UPDATE faults SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL", (at, fault_id)
        )

    def open_faults(self, room_id: str | None = None) -> list[Fault]:
        """Open faults (of one room when given), oldest first."""
        if room_id is None:
            rows = self.conn.execute("SELECT * FROM faults WHERE resolved_at IS NULL ORDER BY raised_at, id")
        else:
            rows = self.conn.execute(
                "SELECT * FROM faults WHERE room_id = ? AND resolved_at IS NULL ORDER BY raised_at, id",
                (room_id,),
            )
        return [_fault(r) for r in rows]

    # ---- service calls ----

    def service_call(self, call_id: str) -> ServiceCall | None:
        """One service call by id."""
        row = self.conn.execute("SELECT * FROM service_calls WHERE id = ?", (call_id,)).fetchone()
        return _service_call(row) if row else None

    def add_service_call(self, call: ServiceCall) -> bool:
        """Record a new call; False when a call of that id is already kept (nothing written)."""
        cursor = self.conn.execute(
            "INSERT INTO service_calls (id, room_id, reason, note, at, command_id, done_at, done_by)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT (id) DO NOTHING",
            (call.id, call.room_id, call.reason, call.note, call.at, call.command_id),
        )
        return cursor.rowcount == 1

    def finish_service_call(self, call_id: str, at: float, by: str) -> bool:
        """Mark an open call done; False when it is unknown or already done."""
        cursor = self.conn.execute(
            "UPDATE service_calls SET done_at = ?, done_by = ? WHERE id = ? AND done_at IS NULL",
            (at, by, call_id),
        )
        return cursor.rowcount == 1

    # ---- journal and meta ----

    def append_journal(self, at_ms: int, kind: str, payload: dict[str, Any]) -> JournalEntry:
        """Chain a new entry onto the journal."""
        row = self.conn.execute("SELECT * FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        entry = chain_entry(_journal(row) if row else None, at_ms, kind, payload)
        self.conn.execute(
            "INSERT INTO journal (seq, at_ms, kind, payload_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
            (entry.seq, entry.at_ms, entry.kind, entry.payload_json, entry.prev_hash, entry.hash),
        )
        return entry

    def meta(self, key: str) -> str | None:
        """A local setting."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or with None, delete) a local setting."""
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


# Work a caller adds to a service's own transaction (e.g. the staff panel's record of the action).
TxHook = Callable[[Tx], None]


class EdgeStore:
    """The edge's SQLite database: store-data cache, room sessions, redemptions, outbox, command results.

    Every call runs on one dedicated thread with one connection, so writes are serialized and each
    write is one short transaction. `outbox_changed` is set after every commit that adds events.
    `snapshot` reads run on a second thread and connection: WAL lets them read the last commit while
    the writer is busy (a write's fsync takes milliseconds; a door must not wait for it).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.outbox_changed = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._reader_executor: ThreadPoolExecutor | None = None
        self._reader: sqlite3.Connection | None = None
        self._listeners = Listeners()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after every committed write (live views re-read); returns the unsubscribe."""
        return self._listeners.subscribe(callback)

    def _changed(self) -> None:
        self._listeners.notify()

    # ---- lifetime ----

    async def open(self) -> None:
        """Create or open the database file (WAL, synchronous=FULL) and its schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-store")
        await self._run(self._connect)
        # Opened after the writer made the schema (and set WAL, which the file keeps).
        self._reader_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-store-read")
        await asyncio.get_running_loop().run_in_executor(self._reader_executor, self._connect_reader)
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
        for table, column, declaration in ADDED_COLUMNS:
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # names from schema.py
            if column not in columns:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._conn = conn
        try:
            self.path.chmod(0o600)
        except OSError:
            logger.warning("cannot restrict edge.db permissions", extra={"path": str(self.path)})

    def _connect_reader(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA query_only=ON")
        self._reader = conn

    async def close(self) -> None:
        """Close the connections and stop the store threads."""
        reader, self._reader_executor = self._reader_executor, None
        if reader is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(reader, self._disconnect_reader)
            finally:
                reader.shutdown(wait=True)
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

    def _disconnect_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

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
        self._changed()

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

    async def staff_member(self, username: str) -> Staff | None:
        """The staff member with this username (compared lower-cased), active ones first."""
        key = username.lower()

        def read(conn: sqlite3.Connection) -> Staff | None:
            row = conn.execute(
                "SELECT * FROM staff WHERE username_key = ? ORDER BY active DESC, id LIMIT 1", (key,)
            ).fetchone()
            return _staff(row) if row else None

        return await self._call(read)

    async def staff_members(self) -> list[Staff]:
        """Every staff member the cloud sent (inactive ones included), by username."""
        return await self._call(
            lambda c: [_staff(r) for r in c.execute("SELECT * FROM staff ORDER BY username_key, id")]
        )

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
            return _redemption(row) if row else None

        return await self._call(read)

    async def redeemed_refs(self, refs: Sequence[str]) -> set[str]:
        """Which of these bookings were redeemed at this edge."""
        wanted = list(dict.fromkeys(refs))

        def read(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT booking_ref FROM redemptions WHERE booking_ref IN ({marks})", chunk
                    )
                )
            return found

        return await self._call(read) if wanted else set()

    async def record(
        self,
        events: Sequence[NewEvent],
        *,
        session: RoomSession | None = None,
        redemption: Redemption | None = None,
    ) -> list[int]:
        """Write a session change, a redemption and their outbox events in one transaction; return seqs."""
        batch = list(events)

        def write(tx: Tx) -> list[int]:
            if session is not None:
                _put_session(tx.conn, session)
            if redemption is not None:
                tx.add_redemption(redemption)
            return tx.add_events(batch)

        return await self.transact(write)

    async def transact(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn` in one write transaction on the store thread (it must not block on anything else)."""
        added = 0

        def run(conn: sqlite3.Connection) -> T:
            nonlocal added
            tx = Tx(conn)
            with _transaction(conn):
                result = fn(tx)
            added = tx.events_added
            return result

        result = await self._call(run)
        if added:
            self.outbox_changed.set()
        self._changed()
        return result

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run a read-only `fn` on the store thread (no transaction is taken)."""
        return await self._call(lambda conn: fn(Tx(conn)))

    async def snapshot(self, fn: Callable[[Tx], T]) -> T:
        """Run a read-only `fn` on the reader thread: one consistent view of the last commit.

        It never queues behind a write; a write still in flight is not seen (callers that must see
        their own writes await them first, as the room locks make every room's writers do).
        """
        executor = self._reader_executor
        if executor is None:
            raise StoreClosed("edge store is not open")

        def run() -> T:
            conn = self._reader
            if conn is None:
                raise StoreClosed("edge store is not open")
            # One read transaction: every statement sees the same commit.
            conn.execute("BEGIN")
            try:
                return fn(Tx(conn))
            finally:
                conn.execute("COMMIT")

        return await asyncio.get_running_loop().run_in_executor(executor, run)

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

        deleted = await self._call(write) if batch else 0
        if deleted:
            self._changed()
        return deleted

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

    # ---- timers, faults, journal ----

    async def timers(self, room_id: str | None = None) -> list[Timer]:
        """Pending session timers (of one room when given), by due time."""

        def read(conn: sqlite3.Connection) -> list[Timer]:
            if room_id is None:
                rows = conn.execute("SELECT * FROM session_timers ORDER BY due_at, room_id, kind")
            else:
                rows = conn.execute(
                    "SELECT * FROM session_timers WHERE room_id = ? ORDER BY due_at, kind", (room_id,)
                )
            return [_timer(r) for r in rows]

        return await self._call(read)

    async def due_timers(self, now: float, limit: int = MAX_BATCH) -> list[Timer]:
        """Timers due at `now`, earliest first."""
        return await self._call(
            lambda c: [
                _timer(r)
                for r in c.execute(
                    "SELECT * FROM session_timers WHERE due_at <= ? ORDER BY due_at, room_id, kind LIMIT ?",
                    (now, limit),
                )
            ]
        )

    async def next_due(self) -> float | None:
        """The earliest due time of any timer."""

        def read(conn: sqlite3.Connection) -> float | None:
            row = conn.execute("SELECT MIN(due_at) FROM session_timers").fetchone()
            return float(row[0]) if row and row[0] is not None else None

        return await self._call(read)

    async def faults(self, *, open_only: bool = True) -> list[Fault]:
        """Faults (open ones only by default), oldest first."""
        where = "WHERE resolved_at IS NULL" if open_only else ""
        return await self._call(
            lambda c: [_fault(r) for r in c.execute(f"SELECT * FROM faults {where} ORDER BY raised_at, id")]
        )

    async def fault(self, fault_id: str) -> Fault | None:
        """One fault by id."""
        return await self.read(lambda tx: tx.fault(fault_id))

    async def open_service_calls(self) -> list[ServiceCall]:
        """Calls the staff have not marked done, oldest first."""
        return await self._call(
            lambda c: [
                _service_call(r)
                for r in c.execute("SELECT * FROM service_calls WHERE done_at IS NULL ORDER BY at, id")
            ]
        )

    async def service_call(self, call_id: str) -> ServiceCall | None:
        """One service call by id (open or done)."""
        return await self.read(lambda tx: tx.service_call(call_id))

    async def journal(self, after_seq: int = 0, limit: int = MAX_BATCH) -> list[JournalEntry]:
        """Journal entries after `after_seq`, in order."""
        return await self._call(
            lambda c: [
                _journal(r)
                for r in c.execute(
                    "SELECT * FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
                )
            ]
        )

    async def meta(self, key: str) -> str | None:
        """A local setting."""
        return await self.read(lambda tx: tx.meta(key))
