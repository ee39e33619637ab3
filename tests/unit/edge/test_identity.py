"""The edge's identity files: written privately and atomically, read back whole, or reported corrupt."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge.identity import Identity, IdentityError, load_identity, save_identity

IDENTITY = Identity("edge-1", "store-a", b"KEY", b"CERT", b"CA", {1: b"\x00" * 32, 2: b"\x01" * 32})


def test_an_edge_with_no_identity_files_is_not_enrolled(tmp_path: Path) -> None:
    assert load_identity(tmp_path) is None


def test_a_saved_identity_reads_back_the_same(tmp_path: Path) -> None:
    save_identity(tmp_path, IDENTITY)
    assert load_identity(tmp_path) == IDENTITY


def test_the_key_and_store_keys_are_readable_only_by_the_owner(tmp_path: Path) -> None:
    save_identity(tmp_path, IDENTITY)
    for name in ("edge.key", "store_keys.json", "identity.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.tmp"))


def test_a_half_written_identity_is_reported_not_ignored(tmp_path: Path) -> None:
    save_identity(tmp_path, IDENTITY)
    (tmp_path / "edge.key").unlink()
    with pytest.raises(IdentityError) as caught:
        load_identity(tmp_path)
    assert caught.value.code == "incomplete"


def test_corrupt_store_keys_are_reported(tmp_path: Path) -> None:
    save_identity(tmp_path, IDENTITY)
    (tmp_path / "store_keys.json").write_text('{"1": "not base64!"}')
    with pytest.raises(IdentityError) as caught:
        load_identity(tmp_path)
    assert caught.value.code == "corrupt"
