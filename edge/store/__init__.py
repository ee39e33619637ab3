"""The edge's local SQLite store: offline cache of store data, sessions, redemptions and the outbox."""

from edge.store.db import MAX_BATCH, EdgeStore, StoreClosed

__all__ = ["MAX_BATCH", "EdgeStore", "StoreClosed"]
