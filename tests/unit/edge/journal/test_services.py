"""The journal on disk: append-only in SQLite, verified read-only, and `gatehouse edge verify-journal`."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edge.identity import DB_FILE
from edge.journal.model import JournalKind
from edge.journal.services import JournalUnreadable, verify_file
from edge.store import EdgeStore
from gatehouse.cli import app


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeStore]:
    async with EdgeStore(tmp_path / "edge" / DB_FILE) as store:
        for i in range(5):
            payload = {"room_id": f"r{i}", "booking_ref": f"B{i}"}
            await store.transact(
                lambda tx, p=payload, at=1000 + i: tx.append_journal(at, JournalKind.DOOR_OPEN, p)
            )
        yield store


def tamper(path: Path, sql: str) -> None:
    """What someone with the file would do: drop the append-only guard, then edit."""
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER journal_append_only_update")
        conn.execute("DROP TRIGGER journal_append_only_delete")
        conn.execute(sql)


async def test_the_journal_refuses_updates_and_deletes(store: EdgeStore) -> None:
    with sqlite3.connect(store.path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE journal SET kind = 'x' WHERE seq = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM journal WHERE seq = 1")


async def test_an_untouched_journal_verifies_while_the_store_is_open(store: EdgeStore) -> None:
    verdict = verify_file(store.path)
    assert (verdict.ok, verdict.entries) == (True, 5)


async def test_one_tampered_row_is_reported_as_the_first_broken_entry(store: EdgeStore) -> None:
    tamper(
        store.path, 'UPDATE journal SET payload_json = \'{"room_id":"r9","booking_ref":"B2"}\' WHERE seq = 3'
    )
    verdict = verify_file(store.path)
    assert (verdict.ok, verdict.broken_seq) == (False, 3)


async def test_a_deleted_row_is_found(store: EdgeStore) -> None:
    tamper(store.path, "DELETE FROM journal WHERE seq = 2")
    assert verify_file(store.path).broken_seq == 3


def test_a_missing_database_is_reported(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable) as missing:
        verify_file(tmp_path / "nope.db")
    assert missing.value.code == "not_found"


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "store.yaml"
    data = {
        "data_dir": str(tmp_path / "edge"),
        "cloud": {"target": "127.0.0.1:1", "ca_cert": str(tmp_path / "ca")},
    }
    path.write_text(yaml.safe_dump(data))
    return path


async def test_the_command_says_ok_and_then_names_the_broken_entry(store: EdgeStore, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["edge", "verify-journal", "--config", str(config_file(tmp_path))])
    assert ok.exit_code == 0, ok.output
    assert "journal OK: 5 entries" in ok.output
    tamper(store.path, "UPDATE journal SET at_ms = 1 WHERE seq = 4")
    broken = runner.invoke(app, ["edge", "verify-journal", "--config", str(config_file(tmp_path))])
    assert broken.exit_code == 1
    assert "BROKEN at entry 4" in broken.output
