"""Which cloud the commands talk to: explicit --cloud/--token, or the demo's demo.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioning.connection import CloudTarget, resolve_target, target_from_demo
from provisioning.errors import NoCloud


def test_explicit_url_and_token_are_used_as_given() -> None:
    assert resolve_target("http://c:8080", "gh_x") == CloudTarget("http://c:8080", "gh_x")


def test_without_both_the_message_says_what_is_missing() -> None:
    with pytest.raises(NoCloud) as caught:
        resolve_target("http://c:8080", None)
    assert "give --token" in caught.value.message and "--demo" in caught.value.message


def test_demo_reads_demo_json_and_explicit_values_still_win(tmp_path: Path) -> None:
    demo = tmp_path / "demo.json"
    demo.write_text(json.dumps({"cloud": {"url": "http://127.0.0.1:8080"}, "api_token": "gh_demo"}))
    assert resolve_target(None, None, demo=True, demo_file=demo) == CloudTarget(
        "http://127.0.0.1:8080", "gh_demo"
    )
    assert resolve_target(None, "gh_mine", demo=True, demo_file=demo).token == "gh_mine"


def test_a_missing_or_foreign_demo_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(NoCloud) as caught:
        resolve_target(None, None, demo=True, demo_file=tmp_path / "nope.json")
    assert "start the demo first" in caught.value.message
    broken = tmp_path / "demo.json"
    broken.write_text("{not json")
    with pytest.raises(NoCloud):
        resolve_target(None, None, demo=True, demo_file=broken)
    with pytest.raises(NoCloud) as caught:
        target_from_demo({"cloud": {}})
    assert "lacks cloud.url or api_token" in caught.value.message
    with pytest.raises(NoCloud):
        target_from_demo({"cloud": {"url": 5}, "api_token": "x"})
