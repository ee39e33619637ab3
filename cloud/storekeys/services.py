"""Store key services: rotation adds a version and keeps the old ones valid."""

from __future__ import annotations

from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.storekeys import keyring
from cloud.tenancy.services import get_store, publish_store_info
from cloud.uow import UnitOfWork


async def rotate_store_key(
    uow: UnitOfWork, clock: Clock, cipher: FieldCipher, principal: Principal, store_id: str
) -> list[int]:
    """Add the store's next key version (new bookings use it); return every version held."""
    session = uow.session
    store = await get_store(session, principal, store_id)
    version = await keyring.add_key_version(session, cipher, clock, store.id)
    await publish_store_info(session, store)
    record_audit(
        session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="store_key.rotate",
        entity="store",
        entity_id=store.id,
        after={"version": version},
    )
    versions = await keyring.key_versions(session, store.id)
    await uow.commit()
    return versions
