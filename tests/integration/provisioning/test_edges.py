"""Edge bootstrap tokens through the API, written as a config the edge parses; revocation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge.config import load_config
from provisioning.edges import create_edge_token, edge_config, revoke_edge, write_edge_files
from provisioning.errors import ApiError, NotFoundError
from tests.integration.provisioning.conftest import DemoCloud


async def test_an_edge_token_becomes_a_config_the_edge_loads(demo_cloud: DemoCloud, tmp_path: Path) -> None:
    api = demo_cloud.api
    store = demo_cloud.seed.store("Demo Store B")
    token = await create_edge_token(api, "Demo Store B")
    assert token.store_id == store.id and token.token
    out = tmp_path / "edge-b"
    files = write_edge_files(out, token, edge_config(token, root=out.resolve()))
    assert stat.S_IMODE(files.config.stat().st_mode) == 0o600
    config = load_config(files.config)
    assert config.cloud.bootstrap_token == token.token
    assert config.cloud.target == demo_cloud.server.grpc_target
    assert config.cloud.enroll_target == demo_cloud.server.enroll_target
    assert config.cloud.ca_cert.read_bytes() == demo_cloud.server.ca_pem
    assert config.data_dir == out.resolve() / "data"
    edges = await api.list_edges(store.id)
    assert [(e["id"], e["enrolled_at"]) for e in edges] == [(token.edge_id, None)]


async def test_revoking_an_edge_marks_it_revoked(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    token = await create_edge_token(api, demo_cloud.seed.store("Demo Store A").id)
    revoked = await revoke_edge(api, token.edge_id)
    assert revoked["id"] == token.edge_id and revoked["revoked_at"] is not None
    with pytest.raises(ApiError) as caught:
        await revoke_edge(api, "e-nosuchedge")
    assert caught.value.status == 404


async def test_an_unknown_store_is_named_with_the_stores_there_are(demo_cloud: DemoCloud) -> None:
    with pytest.raises(NotFoundError) as caught:
        await create_edge_token(demo_cloud.api, "Demo Store Z")
    assert "Demo Store A" in caught.value.message
