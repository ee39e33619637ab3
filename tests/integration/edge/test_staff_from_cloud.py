"""Staff made in the real cloud reach the real edge daemon over the link; a disabled one turns inactive."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloud.bootstrap import CloudServer
from cloud.db import migrate
from edge.bootstrap import EdgeDaemon
from edge.config import parse_config
from tests.integration.cloud.auth_support import create_user
from tests.integration.cloud.conftest import Tenant, cloud_settings, make_store, new_tenant
from tests.integration.edge.rig import eventually


@pytest.fixture(scope="module")
def cloud_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated cloud database, copied for each test."""
    path = tmp_path_factory.mktemp("cloud-template") / "cloud.db"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
async def cloud(cloud_template: Path, tmp_path: Path) -> AsyncIterator[CloudServer]:
    db = tmp_path / "cloud.db"
    shutil.copyfile(cloud_template, db)
    async with CloudServer(cloud_settings(f"sqlite+aiosqlite:///{db}", tmp_path / "cloud")) as server:
        yield server


@pytest.fixture
async def tenant(cloud: CloudServer) -> AsyncIterator[Tenant]:
    tenant = await new_tenant(cloud, "Tenant A")
    async with tenant.api:
        yield tenant


async def test_a_user_made_in_the_cloud_can_be_found_at_the_edge_and_a_disabled_one_turns_inactive(
    cloud: CloudServer, tenant: Tenant, tmp_path: Path
) -> None:
    store = await make_store(tenant.api)
    clerk = await create_user(tenant.api, "Clerk.One", "staff", store_ids=[store.store_id])
    created = (await tenant.api.post(f"/api/v1/stores/{store.store_id}/edges")).json()
    ca = tmp_path / "ca.pem"
    ca.write_text(created["ca_pem"])
    config = parse_config(
        {
            "data_dir": str(tmp_path / "edge"),
            "cloud": {
                "target": created["grpc_target"],
                "enroll_target": created["enroll_target"],
                "ca_cert": str(ca),
                "bootstrap_token": created["bootstrap_token"],
                "reconnect_base_s": 0.05,
                "reconnect_cap_s": 0.2,
            },
            "mqtt": {"host": "127.0.0.1", "port": 0},
            "panel": {"host": "127.0.0.1", "port": 0},
        }
    )
    async with EdgeDaemon(config) as edge:
        await eventually(lambda: _has(edge, "clerk.one"))
        member = await edge.store.staff_member("CLERK.ONE")
        assert member is not None
        assert (member.id, member.role, member.active) == (clerk["id"], "staff", True)
        assert member.password_hash.startswith("$argon2id$")

        # Created while the edge runs: it arrives as a delta.
        cleaner = await create_user(tenant.api, "mop", "cleaner", store_ids=[store.store_id])
        await eventually(lambda: _has(edge, "mop"))

        await tenant.api.patch(f"/api/v1/users/{clerk['id']}", json={"active": False})

        async def inactive() -> bool:
            found = await edge.store.staff_member("clerk.one")
            return found is not None and not found.active

        await eventually(inactive)
        assert {s.id for s in await edge.store.staff_members()} == {clerk["id"], cleaner["id"]}


async def _has(edge: EdgeDaemon, username: str) -> bool:
    return await edge.store.staff_member(username) is not None
