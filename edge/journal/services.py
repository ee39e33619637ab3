"""Reading and verifying the journal of an edge database file (read-only: safe while the daemon runs)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from edge.journal.model import JournalEntry, Verdict, verify


class JournalUnreadable(Exception):
    """The database file is missing or holds no journal; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _entries(conn: sqlite3.Connection) -> Iterator[JournalEntry]:
    cursor = conn.execute("SELECT seq, at_ms, kind, payload_json, prev_hash, hash FROM journal ORDER BY seq")
    for seq, at_ms, kind, payload_json, prev_hash, digest in cursor:
        yield JournalEntry(int(seq), int(at_ms), str(kind), str(payload_json), str(prev_hash), str(digest))


def verify_file(path: Path) -> Verdict:
    """Verify the hash chain of the journal in an edge.db file, reporting the first broken entry."""
    if not path.is_file():
        raise JournalUnreadable("not_found", f"no edge database at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise JournalUnreadable("unreadable", f"cannot open {path}: {err}") from err
    try:
        return verify(_entries(conn))
    except sqlite3.Error as err:
        raise JournalUnreadable("unreadable", f"cannot read the journal in {path}: {err}") from err
    finally:
        conn.close()
