"""`edge.bootstrap.run` as a process: serves its panel with the cloud unreachable and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port

SCRIPT = """
import asyncio, sys
from edge.bootstrap import run
from edge.config import load_config
asyncio.run(run(load_config(sys.argv[1])))
"""


@pytest.mark.slow
async def test_the_daemon_runs_offline_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not needed until the cloud answers")
    panel_port = free_port()
    config = {
        "data_dir": str(tmp_path / "edge"),
        "cloud": {
            "target": f"127.0.0.1:{free_port()}",
            "ca_cert": str(tmp_path / "ca.pem"),
            "bootstrap_token": "t",
        },
        "mqtt": {"port": 0},
        "panel": {"port": panel_port},
    }
    path = tmp_path / "store.yaml"
    path.write_text(yaml.safe_dump(config))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, str(path), cwd=Path(__file__).parents[3]
    )
    try:
        async with httpx.AsyncClient(timeout=1) as http, asyncio.timeout(20):
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{panel_port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
