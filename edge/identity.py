"""The edge's identity on disk: its key, certificate, CA, store keys and ids (written at enrolment)."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEY_FILE = "edge.key"
CERT_FILE = "edge.crt"
CA_FILE = "ca.pem"
IDENTITY_FILE = "identity.json"
STORE_KEYS_FILE = "store_keys.json"
DB_FILE = "edge.db"


class IdentityError(Exception):
    """The identity files are incomplete or corrupt; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Keyring:
    """What code verification needs: the store id and its keys by version."""

    store_id: str
    keys: Mapping[int, bytes]


@dataclass(frozen=True, slots=True)
class Identity:
    """An enrolled edge: ids, TLS material and store keys."""

    edge_id: str
    store_id: str
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    store_keys: Mapping[int, bytes]

    @property
    def keyring(self) -> Keyring:
        """The store id and keys, for code verification."""
        return Keyring(self.store_id, self.store_keys)


def _write(path: Path, data: bytes, mode: int) -> None:
    # Write a sibling then rename: a crash never leaves a half-written key or certificate.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def save_identity(data_dir: Path, identity: Identity) -> None:
    """Write the identity files; identity.json goes last and marks enrolment complete."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _write(data_dir / KEY_FILE, identity.key_pem, 0o600)
    _write(data_dir / CERT_FILE, identity.cert_pem, 0o644)
    _write(data_dir / CA_FILE, identity.ca_pem, 0o644)
    keys = {str(v): base64.b64encode(k).decode() for v, k in sorted(identity.store_keys.items())}
    _write(data_dir / STORE_KEYS_FILE, json.dumps(keys, indent=2).encode(), 0o600)
    ids = {"edge_id": identity.edge_id, "store_id": identity.store_id}
    _write(data_dir / IDENTITY_FILE, json.dumps(ids, indent=2).encode(), 0o600)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise IdentityError("incomplete", f"enrolment file missing: {path}") from err


def load_identity(data_dir: Path) -> Identity | None:
    """The saved identity, or None when this edge has not enrolled yet."""
    if not (data_dir / IDENTITY_FILE).exists():
        return None
    try:
        ids = json.loads(_read(data_dir / IDENTITY_FILE))
        raw_keys = json.loads(_read(data_dir / STORE_KEYS_FILE))
        keys = {int(v): base64.b64decode(k, validate=True) for v, k in raw_keys.items()}
        edge_id, store_id = str(ids["edge_id"]), str(ids["store_id"])
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise IdentityError("corrupt", f"enrolment files in {data_dir} are corrupt: {err}") from err
    return Identity(
        edge_id=edge_id,
        store_id=store_id,
        key_pem=_read(data_dir / KEY_FILE),
        cert_pem=_read(data_dir / CERT_FILE),
        ca_pem=_read(data_dir / CA_FILE),
        store_keys=keys,
    )
