"""The journal's hash chain: each entry seals the ones before it; any change is found at its first entry."""

from __future__ import annotations

import dataclasses

from edge.journal.model import GENESIS, JournalEntry, chain_entry, entry_hash, verify


def chain(n: int) -> list[JournalEntry]:
    entries: list[JournalEntry] = []
    for i in range(n):
        entries.append(
            chain_entry(entries[-1] if entries else None, 1000 + i, "door_open", {"room_id": f"r{i}"})
        )
    return entries


def test_a_chain_starts_at_genesis_and_each_entry_links_to_the_one_before() -> None:
    entries = chain(3)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert entries[1].prev_hash == entries[0].hash
    verdict = verify(entries)
    assert (verdict.ok, verdict.entries, verdict.head) == (True, 3, entries[-1].hash)


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_entry() -> None:
    [entry] = chain(1)
    assert entry.hash == entry_hash(GENESIS, 1, 1000, "door_open", {"room_id": "r0"})
    assert entry.payload_json == '{"room_id":"r0"}'


def test_an_edited_payload_is_found_at_its_entry() -> None:
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], payload_json='{"room_id":"rX"}')
    verdict = verify(entries)
    assert (verdict.ok, verdict.broken_seq, verdict.entries) == (False, 3, 2)
    assert "hash" in (verdict.reason or "")


def test_an_entry_rehashed_after_an_edit_breaks_the_next_link() -> None:
    entries = chain(5)
    forged = dataclasses.replace(entries[2], at_ms=1)
    forged = dataclasses.replace(
        forged, hash=entry_hash(forged.prev_hash, 3, 1, "door_open", {"room_id": "r2"})
    )
    entries[2] = forged
    assert verify(entries).broken_seq == 4


def test_a_removed_or_reordered_entry_is_found() -> None:
    entries = chain(4)
    assert verify([entries[0], entries[2], entries[3]]).broken_seq == 3
    assert verify([entries[1], entries[0]]).broken_seq == 2


def test_an_empty_journal_verifies() -> None:
    assert verify([]).ok
