"""Which cloud to talk to, and as whom: --cloud/--token, or the running demo's `.gatehouse/demo.json`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.errors import NoCloud

DEMO_FILE = Path(".gatehouse/demo.json")


@dataclass(frozen=True, slots=True)
class CloudTarget:
    """The cloud's HTTP base URL and an API bearer token."""

    url: str
    token: str


def target_from_demo(data: Mapping[str, Any], source: str = str(DEMO_FILE)) -> CloudTarget:
    """The cloud URL and API token that `gatehouse demo` wrote."""
    try:
        url, token = data["cloud"]["url"], data["api_token"]
    except (KeyError, TypeError) as err:
        raise NoCloud(f"{source} lacks cloud.url or api_token (is it from `gatehouse demo`?)") from err
    if not isinstance(url, str) or not isinstance(token, str) or not url or not token:
        raise NoCloud(f"{source}: cloud.url and api_token must be strings")
    return CloudTarget(url=url, token=token)


def read_demo_file(path: Path = DEMO_FILE) -> CloudTarget:
    """The demo's cloud from its demo.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise NoCloud(f"{path} not found: start the demo first (`gatehouse demo`)") from err
    except (OSError, ValueError) as err:
        raise NoCloud(f"cannot read {path}: {err}") from err
    return target_from_demo(data, str(path))


def resolve_target(
    cloud: str | None, token: str | None, *, demo: bool = False, demo_file: Path = DEMO_FILE
) -> CloudTarget:
    """--demo reads demo.json (explicit --cloud/--token still win); otherwise both must be given."""
    if demo:
        found = read_demo_file(demo_file)
        return CloudTarget(url=cloud or found.url, token=token or found.token)
    if not cloud or not token:
        missing = " and ".join(name for name, value in (("--cloud", cloud), ("--token", token)) if not value)
        raise NoCloud(
            f"give {missing} (or set GATEHOUSE_CLOUD_URL / GATEHOUSE_API_TOKEN),"
            " or --demo to use the running demo's cloud"
        )
    return CloudTarget(url=cloud, token=token)
