"""The generated gRPC code must match the .proto files: run `make protos` when this fails."""

from __future__ import annotations

from pathlib import Path

from protos.build import PROTO_DIR, generate


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    made = generate(tmp_path)
    assert made, "protoc generated nothing"
    stale = [p.name for p in made if (PROTO_DIR / p.name).read_bytes() != p.read_bytes()]
    assert not stale, f"stale generated code, run `make protos`: {stale}"
