"""The edge SQLite schema and its upgrades (user_version numbers the schema)."""

from __future__ import annotations

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS store_info (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    early_grace_s INTEGER NOT NULL,
    key_versions_json TEXT NOT NULL,
    settings_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings_json TEXT NOT NULL DEFAULT '{}',
    zone TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    room_id TEXT,
    kind TEXT NOT NULL,
    protocol TEXT NOT NULL,
    config_json TEXT NOT NULL,
    zone TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS staff (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_username ON staff (username_key);
CREATE TABLE IF NOT EXISTS bookings (
    ref TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    order_no TEXT NOT NULL,
    phone_last4 TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bookings_order_no ON bookings (order_no);
CREATE INDEX IF NOT EXISTS bookings_window ON bookings (starts_at, ends_at);
CREATE TABLE IF NOT EXISTS room_sessions (
    room_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    booking_ref TEXT,
    started_at REAL,
    ends_at REAL,
    since REAL
);
CREATE TABLE IF NOT EXISTS session_timers (
    room_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at REAL NOT NULL,
    booking_ref TEXT,
    PRIMARY KEY (room_id, kind)
);
CREATE INDEX IF NOT EXISTS session_timers_due ON session_timers (due_at);
CREATE TABLE IF NOT EXISTS redemptions (
    booking_ref TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    at REAL NOT NULL,
    known INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    payload_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS command_results (
    command_id TEXT PRIMARY KEY,
    result_json TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    device_id TEXT,
    device_kind TEXT NOT NULL,
    room_id TEXT,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at REAL NOT NULL,
    resolved_at REAL,
    zone TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS faults_one_open ON faults (subject, code) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS faults_room ON faults (room_id, resolved_at);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS service_calls (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL,
    at REAL NOT NULL,
    command_id TEXT NOT NULL,
    done_at REAL,
    done_by TEXT
);
CREATE INDEX IF NOT EXISTS service_calls_open ON service_calls (done_at, at);
CREATE TRIGGER IF NOT EXISTS journal_append_only_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_append_only_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""

# Columns added after version 1 to tables that already existed: (table, column, declaration).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("store_info", "settings_json", "TEXT NOT NULL DEFAULT '{}'"),
    ("rooms", "settings_json", "TEXT NOT NULL DEFAULT '{}'"),
    ("room_sessions", "since", "REAL"),
    ("rooms", "zone", "TEXT NOT NULL DEFAULT ''"),
    ("devices", "zone", "TEXT NOT NULL DEFAULT ''"),
    ("faults", "zone", "TEXT NOT NULL DEFAULT ''"),
)
