"""Regenerate the Python code of protos/*.proto (`make protos`); also used by the staleness test."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"
SOURCES = sorted(p.relative_to(ROOT).as_posix() for p in PROTO_DIR.glob("*.proto"))
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto into out_dir (laid out as the package path) and return the files made."""
    include = Path(protoc.__file__).resolve().parent / "_proto"
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *SOURCES,
    ]
    # protoc finds the mypy plugins (protoc-gen-mypy*) on PATH, next to this interpreter.
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    return sorted(p for p in (out_dir / "protos").iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def main() -> None:
    """Write the generated modules next to their .proto files."""
    with tempfile.TemporaryDirectory() as tmp:
        for made in generate(Path(tmp)):
            shutil.copyfile(made, PROTO_DIR / made.name)
            sys.stdout.write(f"wrote protos/{made.name}\n")


if __name__ == "__main__":
    main()
