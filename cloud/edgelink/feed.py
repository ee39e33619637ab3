"""The store feed: record each change of a store's data with the next cursor; read snapshots and deltas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from cloud.edgelink import model
from cloud.edgelink.model import FeedBatch, FeedEntity
from cloud.edgelink.tables import FeedItem
from cloud.tenancy.tables import Store
from cloud.uow import mark_changed


async def record_change(
    session: AsyncSession,
    store_id: str,
    entity: FeedEntity | str,
    entity_id: str,
    payload: dict[str, Any],
    deleted: bool = False,
) -> int:
    """Stamp the item's latest version with the store's next cursor, in the caller's transaction.

    The UPDATE ... RETURNING takes the store row's lock until commit, so a store's cursors commit
    in the order they were taken and a reader never sees cursor n+1 before n.
    """
    entity = FeedEntity(entity)
    result = await session.execute(
        update(Store)
        .where(Store.id == store_id)
        .values(feed_cursor=Store.feed_cursor + 1)
        .returning(Store.feed_cursor)
        .execution_options(synchronize_session=False)
    )
    cursor = int(result.scalar_one())
    loaded = session.sync_session.identity_map.get(identity_key(Store, store_id))
    if isinstance(loaded, Store):
        set_committed_value(loaded, "feed_cursor", cursor)
    item = await session.scalar(
        select(FeedItem).where(
            FeedItem.store_id == store_id, FeedItem.entity == entity.value, FeedItem.entity_id == entity_id
        )
    )
    if item is None:
        session.add(
            FeedItem(
                store_id=store_id,
                entity=entity.value,
                entity_id=entity_id,
                cursor=cursor,
                deleted=deleted,
                payload=payload,
            )
        )
    else:
        item.cursor, item.deleted, item.payload = cursor, deleted, payload
    mark_changed(session, store_id)
    return cursor


def _item(row: FeedItem) -> model.FeedItem:
    return model.FeedItem(
        entity=FeedEntity(row.entity),
        entity_id=row.entity_id,
        cursor=row.cursor,
        deleted=row.deleted,
        payload=dict(row.payload),
    )


async def store_cursor(session: AsyncSession, store_id: str) -> int:
    """The store's latest committed cursor (0 for an unknown store)."""
    value = await session.scalar(select(Store.feed_cursor).where(Store.id == store_id))
    return int(value or 0)


async def read_sync(session: AsyncSession, store_id: str, edge_cursor: int, now: datetime) -> FeedBatch:
    """The first StoreData of a stream: a snapshot, or the delta since edge_cursor."""
    cursor = await store_cursor(session, store_id)
    if model.needs_snapshot(edge_cursor, cursor):
        rows = await session.scalars(select(FeedItem).where(FeedItem.store_id == store_id))
        # One statement reads every item: the cursor is taken from the rows, so it matches them.
        return model.build_snapshot((_item(r) for r in rows), 0, now)
    return await read_delta(session, store_id, edge_cursor)


async def read_delta(session: AsyncSession, store_id: str, since: int) -> FeedBatch:
    """Every item changed after `since`, tombstones included."""
    rows = await session.scalars(
        select(FeedItem)
        .where(FeedItem.store_id == store_id, FeedItem.cursor > since)
        .order_by(FeedItem.cursor)
    )
    return model.build_delta((_item(r) for r in rows), since)
