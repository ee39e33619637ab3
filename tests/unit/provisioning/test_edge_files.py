"""The edge config written by `edge-token`: the shape edge/config.py parses, file modes, no clobbering."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from edge.config import load_config, parse_config
from provisioning.edges import EdgeToken, Listen, edge_config, render_edge_yaml, write_edge_files
from provisioning.errors import ProvisionError

TOKEN = EdgeToken(
    edge_id="e-1",
    store_id="s-1",
    store_name="Store One",
    token="gh_secret",
    expires_at="2026-11-20T10:00:00Z",
    ca_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    grpc_target="127.0.0.1:50051",
    enroll_target="127.0.0.1:50052",
)


def test_the_config_is_what_the_edge_parses() -> None:
    data = edge_config(
        TOKEN, root=Path("/opt/gatehouse"), mqtt=Listen("0.0.0.0", 1883), panel=Listen("0.0.0.0", 8081)
    )
    config = parse_config(data)
    assert config.data_dir == Path("/opt/gatehouse/data")
    assert config.cloud.ca_cert == Path("/opt/gatehouse/ca.pem")
    assert (config.cloud.target, config.cloud.enroll_target) == ("127.0.0.1:50051", "127.0.0.1:50052")
    assert config.cloud.bootstrap_token == "gh_secret"
    assert config.cloud.server_name == "gatehouse-cloud"
    assert (config.mqtt.host, config.mqtt.port, config.panel.port) == ("0.0.0.0", 1883, 8081)


def test_targets_can_be_overridden_and_must_be_host_port() -> None:
    data = edge_config(TOKEN, root=Path("/x"), target="cloud.example:443", enroll_target="cloud.example:8443")
    assert data["cloud"]["target"] == "cloud.example:443"
    with pytest.raises(ProvisionError) as caught:
        edge_config(TOKEN, root=Path("/x"), target="cloud.example")
    assert caught.value.code == "invalid_target"


def test_the_yaml_says_what_it_is_and_parses_back(tmp_path: Path) -> None:
    text = render_edge_yaml(TOKEN, edge_config(TOKEN, root=tmp_path))
    assert text.startswith("# Gatehouse edge of store Store One (s-1), edge id e-1.")
    assert "expires at 2026-11-20T10:00:00Z" in text
    assert parse_config(yaml.safe_load(text)).cloud.bootstrap_token == "gh_secret"


def test_files_are_written_private_and_never_clobbered_without_force(tmp_path: Path) -> None:
    out = tmp_path / "edge"
    files = write_edge_files(out, TOKEN, edge_config(TOKEN, root=out))
    assert stat.S_IMODE(files.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.ca.stat().st_mode) == 0o644
    assert files.ca.read_text() == TOKEN.ca_pem
    assert load_config(files.config).cloud.ca_cert == files.ca
    with pytest.raises(ProvisionError) as caught:
        write_edge_files(out, TOKEN, edge_config(TOKEN, root=out))
    assert caught.value.code == "exists"
    files.config.chmod(0o644)
    write_edge_files(out, TOKEN, edge_config(TOKEN, root=out), force=True)
    assert stat.S_IMODE(files.config.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == ["ca.pem", "edge.yaml"]  # no temp files left


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "edge"
    blocker.write_text("")
    with pytest.raises(ProvisionError) as caught:
        write_edge_files(blocker, TOKEN, edge_config(TOKEN, root=blocker))
    assert caught.value.code == "not_a_directory"
