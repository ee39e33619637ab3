"""Edges of a store: a one-time bootstrap token written out as a ready edge config, and revocation.

The config is the shape `edge/config.py` reads (`gatehouse edge run --config edge.yaml`); it is
written here key by key (provisioning never imports edge/). The YAML holds the token, so it is
written with mode 0600; the CA PEM beside it is public.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provisioning.api import CloudApi
from provisioning.errors import ProvisionError

CONFIG_FILE = "edge.yaml"
CA_FILE = "ca.pem"
DATA_DIR = "data"
SERVER_NAME = "gatehouse-cloud"
DEFAULT_MQTT_PORT = 1883
DEFAULT_PANEL_PORT = 8081


@dataclass(frozen=True, slots=True)
class EdgeToken:
    """A new edge of a store with its one-time bootstrap token and where to reach the cloud."""

    edge_id: str
    store_id: str
    store_name: str
    token: str
    expires_at: str
    ca_pem: str
    grpc_target: str
    enroll_target: str


@dataclass(frozen=True, slots=True)
class Listen:
    """A local bind address of the edge."""

    host: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True, slots=True)
class EdgeFiles:
    """Where the config and the CA were written."""

    config: Path
    ca: Path


def _host_port(value: str, what: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ProvisionError(f"{what} must be host:port, not {value!r}", code="invalid_target")
    return value


def edge_config(
    token: EdgeToken,
    *,
    root: Path,
    target: str | None = None,
    enroll_target: str | None = None,
    mqtt: Listen = Listen(port=DEFAULT_MQTT_PORT),
    panel: Listen = Listen(port=DEFAULT_PANEL_PORT),
) -> dict[str, Any]:
    """The edge config mapping: `root` is where the edge will find these files (its data dir inside)."""
    return {
        "data_dir": str(root / DATA_DIR),
        "cloud": {
            "target": _host_port(target or token.grpc_target, "the link target"),
            "enroll_target": _host_port(enroll_target or token.enroll_target, "the enrolment target"),
            "ca_cert": str(root / CA_FILE),
            "server_name": SERVER_NAME,
            "bootstrap_token": token.token,
        },
        "mqtt": {"host": mqtt.host, "port": mqtt.port},
        "panel": {"host": panel.host, "port": panel.port},
    }


def render_edge_yaml(token: EdgeToken, config: dict[str, Any]) -> str:
    """The config as YAML with a header saying what it is and that the token is single-use."""
    header = (
        f"# Gatehouse edge of store {token.store_name} ({token.store_id}), edge id {token.edge_id}.\n"
        f"# Run: gatehouse edge run --config {CONFIG_FILE}\n"
        f"# The bootstrap token is used once, at enrolment, and expires at {token.expires_at}.\n"
        "# Keep this file private (mode 0600): it holds that token.\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def check_writable(out_dir: Path, *, force: bool) -> None:
    """Refuse to overwrite an existing edge config unless forced (checked before a token is made)."""
    config = out_dir / CONFIG_FILE
    if config.exists() and not force:
        raise ProvisionError(f"{config} exists (give --force to replace it)", code="exists")
    if out_dir.exists() and not out_dir.is_dir():
        raise ProvisionError(f"{out_dir} is not a directory", code="not_a_directory")


def _write(path: Path, text: str, mode: int) -> None:
    """Write text to path atomically with the given mode (the mode is set before any byte is written)."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    os.replace(temp, path)


def write_edge_files(
    out_dir: Path, token: EdgeToken, config: dict[str, Any], *, force: bool = False
) -> EdgeFiles:
    """Write edge.yaml (0600) and ca.pem (0644) into out_dir."""
    check_writable(out_dir, force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = EdgeFiles(config=out_dir / CONFIG_FILE, ca=out_dir / CA_FILE)
    _write(files.ca, token.ca_pem, 0o644)
    _write(files.config, render_edge_yaml(token, config), 0o600)
    return files


async def create_edge_token(api: CloudApi, store_ref: str) -> EdgeToken:
    """Register a new edge for the store (by id or name) and get its one-time token."""
    store = await api.find_store(store_ref)
    created = await api.create_edge(store["id"])
    return EdgeToken(
        edge_id=created["edge_id"],
        store_id=created["store_id"],
        store_name=store["name"],
        token=created["bootstrap_token"],
        expires_at=str(created["token_expires_at"]),
        ca_pem=created["ca_pem"],
        grpc_target=created["grpc_target"],
        enroll_target=created.get("enroll_target") or created["grpc_target"],
    )


async def revoke_edge(api: CloudApi, edge_id: str) -> dict[str, Any]:
    """Revoke an edge: it is refused from now on and its live link is closed."""
    return await api.revoke_edge(edge_id)
