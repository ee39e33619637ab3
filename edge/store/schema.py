"""The edge SQLite schema (one version; later issues add migrations)."""

from __future__ import annotations

SCHEMA_VERSION = 1

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
    key_versions_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    room_id TEXT,
    kind TEXT NOT NULL,
    protocol TEXT NOT NULL,
    config_json TEXT NOT NULL
);
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
CREATE TABLE IF NOT EXISTS room_sessions (
    room_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    booking_ref TEXT,
    started_at REAL,
    ends_at REAL
);
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
"""
