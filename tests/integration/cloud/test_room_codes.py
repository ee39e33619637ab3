"""GET /api/v1/stores/{id}/room-codes: each room's printed QR, sealed with the store's newest key."""

from __future__ import annotations

import pytest

from cloud.bootstrap import CloudServer
from cloud.storekeys import keyring
from protos.codes import CodeRefused, Refusal, verify_room_code
from tests.integration.cloud.auth_support import create_user, session_client
from tests.integration.cloud.conftest import StoreIds, Tenant, make_store


async def test_room_codes_verify_with_the_store_key_and_follow_a_rotation(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    api = tenant_a.api
    listed = await api.get(f"/api/v1/stores/{store_a.store_id}/room-codes")
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [r["name"] for r in rows] == ["KTV 1", "Mahjong 1"]
    async with cloud.sessionmaker() as session:
        keys = await keyring.load_keys(session, cloud.cipher, store_a.store_id)
    for row in rows:
        claim = verify_room_code(row["code"], store_a.store_id, keys)
        assert (claim.room_id, claim.key_version, row["key_version"]) == (row["room_id"], 1, 1)

    await api.post(f"/api/v1/stores/{store_a.store_id}/keys/rotate")
    after = (await api.get(f"/api/v1/stores/{store_a.store_id}/room-codes")).json()
    async with cloud.sessionmaker() as session:
        keys = await keyring.load_keys(session, cloud.cipher, store_a.store_id)
    assert {verify_room_code(r["code"], store_a.store_id, keys).key_version for r in after} == {2}
    # A code of one store never verifies for another.
    other = await make_store(api, "Store Two")
    with pytest.raises(CodeRefused) as refused:
        verify_room_code(after[0]["code"], other.store_id, keys)
    assert refused.value.reason is Refusal.WRONG_STORE


async def test_room_codes_are_scoped_to_the_callers_stores_and_to_those_who_set_stores_up(
    cloud: CloudServer, tenant_a: Tenant, tenant_b: Tenant, store_a: StoreIds
) -> None:
    foreign = await tenant_b.api.get(f"/api/v1/stores/{store_a.store_id}/room-codes")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "store_not_found")
    # A code proves presence in the room (a maintainer's on-site check): staff cannot read them.
    await create_user(tenant_a.api, "fixer", "maintainer", region_ids=[store_a.region_id])
    client = await session_client(cloud, "fixer")
    async with client:
        refused = await client.get(f"/api/v1/stores/{store_a.store_id}/room-codes")
    assert refused.status_code == 403
