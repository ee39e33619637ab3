"""The device type table: which keys each (kind, protocol) needs, and how values are normalised."""

from __future__ import annotations

import pytest

from provisioning.manifest.devices import (
    DEVICE_TYPES,
    check_device_config,
    derived_device_id,
    supported_pairs,
)

GOOD_VALUES = {
    "host": "192.168.1.20",
    "port": "502",
    "unit": "1",
    "channels": "2",
    "address": "c4:7c:8d:6a:01:3f",
    "roles": "light",
    "profile": "kitchen-58mm",
    "sensor": "smoke",
    "gate": "gate-1",
    "heartbeat_s": "30",
}


@pytest.mark.parametrize("pair", sorted(DEVICE_TYPES))
def test_every_type_accepts_its_required_keys_and_refuses_without_them(pair: tuple[str, str]) -> None:
    device_type = DEVICE_TYPES[pair]
    config = {key: GOOD_VALUES[key] for key in device_type.keys}
    clean, problems = check_device_config(*pair, config)
    assert problems == [] and set(clean) == set(device_type.keys)
    for key in device_type.required:
        _, problems = check_device_config(*pair, {k: v for k, v in config.items() if k != key})
        assert [p.where for p in problems] == [f"config.{key}"]


def test_the_brief_pairs_are_all_there() -> None:
    assert supported_pairs().split(", ") == [
        "lock/mqtt",
        "lock/ble",
        "power/modbus",
        "power/mqtt",
        "gate/modbus",
        "gate/mqtt",
        "printer/escpos",
        "scanner/mqtt",
        "scanner/tcp",
        "sensor/mqtt",
    ]
    assert DEVICE_TYPES["power", "modbus"].required == ("host", "port", "unit", "channels")
    assert DEVICE_TYPES["printer", "escpos"].required == ("host", "port")
    assert DEVICE_TYPES["lock", "ble"].required == ("address",)


def test_values_are_normalised_to_the_strings_the_edge_reads() -> None:
    clean, problems = check_device_config(
        "power", "modbus", {"host": " 10.0.0.5 ", "port": 502, "unit": "01", "channels": "002"}
    )
    assert problems == []
    assert clean == {"host": "10.0.0.5", "port": "502", "unit": "1", "channels": "2"}
    clean, _ = check_device_config("lock", "ble", {"address": "c4:7c:8d:6a:01:3f"})
    assert clean == {"address": "C4:7C:8D:6A:01:3F"}


@pytest.mark.parametrize("host", ["printer.local", "gatehouse-cloud", "::1", "10.0.0.1"])
def test_host_names_and_addresses_are_accepted(host: str) -> None:
    assert check_device_config("printer", "escpos", {"host": host, "port": 9100})[1] == []


@pytest.mark.parametrize("host", ["", "-bad.example", "a b", "x" * 254])
def test_bad_hosts_are_refused(host: str) -> None:
    _, problems = check_device_config("printer", "escpos", {"host": host, "port": 9100})
    assert [p.message for p in problems] == ["must be a host name or an IP address"]


def test_a_derived_id_is_the_owner_id_and_the_name() -> None:
    assert derived_device_id("rm-k3j5q2xa", "lock") == "rm-k3j5q2xa-lock"


@pytest.mark.parametrize(
    ("pair", "config", "where", "message"),
    [
        (
            ("power", "mqtt"),
            {"channels": 2, "roles": "light,heater"},
            "config.roles",
            "unknown channel role 'heater'",
        ),
        (
            ("power", "mqtt"),
            {"channels": 2, "roles": "light,ac,fresh_air"},
            "config.roles",
            "3 roles for 2 channel(s)",
        ),
        (("power", "mqtt"), {"roles": "light,ac"}, "config.roles", "2 roles for 1 channel(s)"),
        (
            ("printer", "escpos"),
            {"host": "p", "port": 9100, "profile": "a4"},
            "config.profile",
            "must be one of",
        ),
        (("sensor", "mqtt"), {"sensor": "heat"}, "config.sensor", "must be one of: smoke, button, contact"),
        (("scanner", "mqtt"), {"gate": "gate 1"}, "config.gate", "must be a device id"),
        (("lock", "mqtt"), {"heartbeat_s": "0"}, "config.heartbeat_s", "above 0"),
        (("lock", "mqtt"), {"heartbeat_s": "soon"}, "config.heartbeat_s", "above 0"),
    ],
)
def test_the_keys_the_edge_reads_are_checked_as_the_edge_would(
    pair: tuple[str, str], config: dict[str, object], where: str, message: str
) -> None:
    _, problems = check_device_config(*pair, config)
    assert [p.where for p in problems] == [where]
    assert message in problems[0].message


def test_roles_are_kept_in_channel_order() -> None:
    clean, problems = check_device_config("power", "mqtt", {"channels": "3", "roles": "light, ac ,fresh_air"})
    assert problems == [] and clean["roles"] == "light,ac,fresh_air"
