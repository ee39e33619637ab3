"""The tamper-evident local journal: a hash chain of door openings and redemptions."""

from edge.journal.model import GENESIS, JournalEntry, JournalKind, Verdict, chain_entry, verify

__all__ = ["GENESIS", "JournalEntry", "JournalKind", "Verdict", "chain_entry", "verify"]
