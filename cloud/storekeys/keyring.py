"""Low-level store key access: create, add a version, load (decrypted) — inside the caller's transaction."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.errors import NotFound
from cloud.storekeys.tables import StoreKey

KEY_BYTES = 32


def _aad(store_id: str, version: int) -> str:
    return f"store_key:{store_id}:{version}"


async def add_key_version(session: AsyncSession, cipher: FieldCipher, clock: Clock, store_id: str) -> int:
    """Add the store's next key version (1 for a new store) with 32 fresh random bytes."""
    latest = await session.scalar(select(func.max(StoreKey.version)).where(StoreKey.store_id == store_id))
    version = int(latest or 0) + 1
    key = secrets.token_bytes(KEY_BYTES)
    session.add(
        StoreKey(
            store_id=store_id,
            version=version,
            key_encrypted=cipher.encrypt(key, _aad(store_id, version)),
            created_at=clock.now(),
        )
    )
    await session.flush()
    return version


async def key_versions(session: AsyncSession, store_id: str) -> list[int]:
    """The store's key versions, oldest first."""
    rows = await session.scalars(
        select(StoreKey.version).where(StoreKey.store_id == store_id).order_by(StoreKey.version)
    )
    return list(rows)


async def load_keys(session: AsyncSession, cipher: FieldCipher, store_id: str) -> dict[int, bytes]:
    """Every key of the store, decrypted, by version."""
    rows = await session.scalars(select(StoreKey).where(StoreKey.store_id == store_id))
    return {row.version: cipher.decrypt(row.key_encrypted, _aad(store_id, row.version)) for row in rows}


async def load_key(session: AsyncSession, cipher: FieldCipher, store_id: str, version: int) -> bytes:
    """One key of the store, decrypted."""
    row = await session.get(StoreKey, (store_id, version))
    if row is None:
        raise NotFound(f"store key version {version}", code="store_key_not_found")
    return cipher.decrypt(row.key_encrypted, _aad(store_id, version))


async def current_key(session: AsyncSession, cipher: FieldCipher, store_id: str) -> tuple[int, bytes]:
    """The latest (version, key) of the store: new bookings use it."""
    latest = await session.scalar(select(func.max(StoreKey.version)).where(StoreKey.store_id == store_id))
    if latest is None:
        raise NotFound("the store has no key", code="store_key_not_found")
    return int(latest), await load_key(session, cipher, store_id, int(latest))
