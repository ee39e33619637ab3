"""The edge's local SQLite store: offline cache of store data, sessions, faults, journal and the outbox."""

from edge.store.db import MAX_BATCH, EdgeStore, StoreClosed, Tx, TxHook

__all__ = ["MAX_BATCH", "EdgeStore", "StoreClosed", "Tx", "TxHook"]
