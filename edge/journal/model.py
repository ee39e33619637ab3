"""The tamper-evident journal's hash chain (pure): canonical entries, their hashes, and verification.

hash(n) = sha256(prev_hash(n) || canonical(n)) as hex, where canonical(n) is the compact JSON
array [seq, at_ms, kind, payload] with sorted keys and UTF-8 text; the first entry's prev_hash is
64 zeros. Changing, removing or reordering any entry breaks every hash from it on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


class JournalKind(StrEnum):
    """What a journal entry records."""

    DOOR_OPEN = "door_open"
    REDEMPTION = "redemption"
    FORCED_COMMAND = "forced_command"
    ALARM = "alarm"
    STAFF_ACTION = "staff_action"
    SERVICE_CALL = "service_call"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal row as stored."""

    seq: int
    at_ms: int
    kind: str
    payload_json: str
    prev_hash: str
    hash: str


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """A payload as canonical JSON text (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(seq: int, at_ms: int, kind: str, payload: Any) -> bytes:
    """The canonical bytes of an entry."""
    text = json.dumps([seq, at_ms, kind, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def entry_hash(prev_hash: str, seq: int, at_ms: int, kind: str, payload: Any) -> str:
    """sha256(prev_hash || canonical entry) as lower-case hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(seq, at_ms, kind, payload)).hexdigest()


def chain_entry(prev: JournalEntry | None, at_ms: int, kind: str, payload: Mapping[str, Any]) -> JournalEntry:
    """The entry that follows `prev` (None: the first entry)."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    text = canonical_payload(payload)
    return JournalEntry(
        seq, at_ms, kind, text, prev_hash, entry_hash(prev_hash, seq, at_ms, kind, json.loads(text))
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of verifying a journal: ok, or the first broken entry and why."""

    ok: bool
    entries: int
    broken_seq: int | None = None
    reason: str | None = None
    head: str = GENESIS


def verify(entries: Iterable[JournalEntry]) -> Verdict:
    """Walk the chain in seq order; stop at the first entry that does not follow from the one before."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return Verdict(False, count, entry.seq, f"seq {entry.seq} where {expected_seq} was expected")
        if entry.prev_hash != prev_hash:
            return Verdict(False, count, entry.seq, "prev_hash does not match the previous entry's hash")
        try:
            payload = json.loads(entry.payload_json)
        except ValueError:
            return Verdict(False, count, entry.seq, "payload is not JSON")
        if entry_hash(prev_hash, entry.seq, entry.at_ms, entry.kind, payload) != entry.hash:
            return Verdict(False, count, entry.seq, "hash does not match the entry's content")
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    return Verdict(True, count, head=prev_hash)
