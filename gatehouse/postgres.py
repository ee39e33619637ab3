"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp dir, on a free port."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"{name} not found: run `make system-deps`")
    return candidates[-1]


def _as_postgres(args: list[str], **kwargs: object) -> None:
    cmd = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args
    subprocess.run(cmd, check=True, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]


@contextmanager
def throwaway_postgres(port: int) -> Iterator[str]:
    """Start a fresh cluster on port; yield an asyncpg URL of its `gatehouse` database."""
    root = Path(tempfile.mkdtemp(prefix="gh-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    _as_postgres([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=300"
    _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "start", "-o", options])
    try:
        _as_postgres([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "gatehouse"])
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/gatehouse"
    finally:
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)
