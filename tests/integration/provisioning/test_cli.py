"""`gatehouse provision ...` end to end: the commands against a real cloud served from another thread."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from edge.config import load_config
from gatehouse.cli import app
from tests.integration.provisioning.conftest import ThreadedCloud

EXAMPLE = Path(__file__).parents[3] / "provisioning" / "examples" / "store.yaml"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["provision", *args], input=stdin, env={"COLUMNS": "240", "NO_COLOR": "1"}
    )
    return result.exit_code, result.output


def demo(cloud: ThreadedCloud) -> list[str]:
    return ["--demo", "--demo-file", str(cloud.demo_file)]


def test_apply_shows_the_diff_applies_and_a_second_apply_says_no_changes(
    threaded_cloud: ThreadedCloud,
) -> None:
    code, output = run("apply", str(EXAMPLE), *demo(threaded_cloud), "--yes")
    assert code == 0, output
    assert "create room" in output and "Mahjong 1" in output
    assert "Applied 31 to create: store Demo Store C" in output
    code, output = run("apply", str(EXAMPLE), *demo(threaded_cloud), "--yes")
    assert code == 0, output
    assert "No changes: the cloud already matches" in output


def test_apply_asks_first_and_changes_nothing_when_refused(threaded_cloud: ThreadedCloud) -> None:
    code, output = run("apply", str(EXAMPLE), *demo(threaded_cloud), stdin="n\n")
    assert code == 1 and "Apply these 31 change(s)?" in output and "Nothing was changed." in output
    code, output = run("apply", str(EXAMPLE), *demo(threaded_cloud), "--dry-run")
    assert code == 0 and "Dry run: 31 to create; nothing was changed." in output


def test_an_invalid_manifest_exits_2_with_its_problems_and_no_api_call(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text().replace("host: 192.168.10.21, port: 502,", "host: 192.168.10.21, port: 0,", 1)
    )
    code, output = run("apply", str(bad), "--cloud", UNREACHABLE, "--token", "x", "--yes")
    assert code == 2, output
    assert "invalid_manifest" in output
    assert "rooms[0].devices[1].config.port: must be 1-65535" in output
    assert "unreachable" not in output


def test_without_a_cloud_the_command_says_how_to_name_one() -> None:
    code, output = run("apply", str(EXAMPLE))
    assert code == 1 and "--cloud and --token" in output


def test_an_unreachable_cloud_is_reported_plainly() -> None:
    code, output = run("apply", str(EXAMPLE), "--cloud", UNREACHABLE, "--token", "x")
    assert code == 1 and "cloud_unreachable" in output


def test_import_devices_reports_every_bad_row_and_imports_nothing(
    threaded_cloud: ThreadedCloud, tmp_path: Path
) -> None:
    csv = tmp_path / "devices.csv"
    csv.write_text(
        "room,kind,protocol,host,port\n"
        "Mahjong 1,lock,mqtt,,\n"
        "Mahjong 2,power,modbus,10.0.0.1,\n"
        "KTV 1,lock,zigbee,,\n"
    )
    code, output = run("import-devices", "Demo Store A", str(csv), *demo(threaded_cloud))
    assert code == 2, output
    assert (
        f"{csv}:3: " in output and f"{csv}:4: " in output and "2 bad row(s); nothing was imported" in output
    )
    code, output = run("import-devices", "Demo Store A", str(csv), *demo(threaded_cloud), "--skip-bad")
    assert code == 0, output
    assert "skipped" in output and "Imported 1 to create (2 bad row(s) skipped)." in output
    code, output = run("import-devices", "Demo Store A", str(csv), *demo(threaded_cloud), "--skip-bad")
    assert code == 0 and "No changes" in output


def test_edge_token_writes_a_private_config_the_edge_loads_and_revoke_edge_cuts_it_off(
    threaded_cloud: ThreadedCloud, tmp_path: Path
) -> None:
    out = tmp_path / "edge-a"
    code, output = run(
        "edge-token", "Demo Store A", *demo(threaded_cloud), "--out-dir", str(out), "--mqtt-port", "0"
    )
    assert code == 0, output
    config_file = out / "edge.yaml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    config = load_config(config_file)
    assert config.cloud.bootstrap_token and config.cloud.ca_cert.read_bytes() == threaded_cloud.ca_pem
    assert config.mqtt.port == 0
    code, output = run("edge-token", "Demo Store A", *demo(threaded_cloud), "--out-dir", str(out))
    assert code == 1 and "exists (give --force" in output
    edge_id = config_file.read_text().split("edge id ", 1)[1].split(".", 1)[0]
    code, output = run("revoke-edge", edge_id, *demo(threaded_cloud), stdin="n\n")
    assert code == 1
    code, output = run("revoke-edge", edge_id, *demo(threaded_cloud), "--yes")
    assert code == 0 and f"Revoked edge {edge_id}" in output


def test_qr_sheet_writes_a_png_per_page(threaded_cloud: ThreadedCloud, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    code, output = run(
        "qr-sheet", "Demo Store B", *demo(threaded_cloud), "--out", str(out), "--codes", "scan"
    )
    assert code == 0, output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "6 code(s) for 6 room(s)" in output
    code, output = run(
        "qr-sheet", "Demo Store B", *demo(threaded_cloud), "--out", str(tmp_path / "sheet.svg")
    )
    assert code == 2 and "must end in .pdf or .png" in output


def test_a_conflict_shows_the_plan_and_changes_nothing(threaded_cloud: ThreadedCloud, tmp_path: Path) -> None:
    code, output = run("apply", str(EXAMPLE), *demo(threaded_cloud), "--yes")
    assert code == 0, output
    changed = tmp_path / "store.yaml"
    text = (
        EXAMPLE.read_text()
        .replace("    kind: tea\n", "    kind: ktv\n")
        .replace("capacity_max: 12", "capacity_max: 14")
    )
    changed.write_text(text)
    code, output = run("apply", str(changed), *demo(threaded_cloud), "--yes")
    assert code == 2, output
    assert "update room" in output and "capacity_max: 12 → 14" in output
    assert "conflict: rooms[5].kind: room 'Tea Room' is a 'tea' in the cloud" in output
    assert "Nothing was changed: resolve the conflict(s) above." in output
