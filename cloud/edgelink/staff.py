"""Staff in the store feeds: who may sign in to each store's panel, kept in step with the users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.tables import User
from cloud.edgelink.feed import record_change
from cloud.edgelink.model import FeedEntity, StaffInfo, staff_store_ids
from cloud.edgelink.tables import FeedItem
from cloud.tenancy.tables import Store


def staff_info(user: User) -> StaffInfo:
    """What an edge keeps of a user (the login is the panel's username)."""
    return StaffInfo(
        id=user.id,
        username=user.login,
        display_name=user.display_name,
        role=user.role,
        password_hash=user.password_hash,
        active=user.active,
    )


async def _tenant_stores(session: AsyncSession, tenant_id: str) -> dict[str, str]:
    rows = await session.execute(select(Store.id, Store.region_id).where(Store.tenant_id == tenant_id))
    return {store_id: region_id for store_id, region_id in rows}


async def publish_user(session: AsyncSession, user: User) -> None:
    """Record the user in the feed of every store they may work at; tombstone the stores they lost.

    Runs in the caller's transaction (the user's change and its feed changes commit together). A
    disabled user stays in the feeds as inactive, so an edge ends their panel sessions.
    """
    await session.flush()
    stores = await _tenant_stores(session, user.tenant_id)
    reach = staff_store_ids(user.role, user.region_ids or (), user.store_ids or (), stores)
    published = set(
        await session.scalars(
            select(FeedItem.store_id).where(
                FeedItem.entity == FeedEntity.STAFF.value,
                FeedItem.entity_id == user.id,
                FeedItem.deleted.is_(False),
            )
        )
    )
    payload = staff_info(user).payload()
    # Sorted, so concurrent publishers take the store rows' locks in one order.
    for store_id in sorted(reach):
        await record_change(session, store_id, FeedEntity.STAFF, user.id, payload)
    for store_id in sorted(published - reach):
        await record_change(session, store_id, FeedEntity.STAFF, user.id, {"id": user.id}, deleted=True)


async def publish_store_staff(session: AsyncSession, store: Store) -> int:
    """Record every active user who may work at a (new) store in its feed; return how many."""
    stores = {store.id: store.region_id}
    users = await session.scalars(
        select(User).where(User.tenant_id == store.tenant_id, User.active.is_(True)).order_by(User.id)
    )
    count = 0
    for user in users:
        if staff_store_ids(user.role, user.region_ids or (), user.store_ids or (), stores):
            await record_change(session, store.id, FeedEntity.STAFF, user.id, staff_info(user).payload())
            count += 1
    return count
