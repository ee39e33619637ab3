"""Device types and their config keys: which (kind, protocol) pairs exist and what each needs.

Pure: a table of frozen dataclasses (capabilities are data) and the checks that use it. The same
rules serve the store manifest and the CSV device import. Config values end up as strings, as the
cloud stores them and the edge reads them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_BLE_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
# What a power channel may feed (drivers/README.md: the `roles` key); printer profiles; sensor kinds.
CHANNEL_ROLES = ("light", "ac", "fresh_air", "speaker", "other")
PRINTER_PROFILES = ("receipt-80mm", "kitchen-58mm")
SENSOR_KINDS = ("smoke", "button", "contact")

# A value check: the normalised string, or raises ValueError with the message to show.
Check = Callable[[str], str]


def _int_range(low: int, high: int) -> Check:
    def check(value: str) -> str:
        text = value.strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"must be {low}-{high}")
        return str(int(text))

    return check


def _host(value: str) -> str:
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if not text or len(text) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValueError("must be a host name or an IP address")
    return text


def _choice(*allowed: str) -> Check:
    def check(value: str) -> str:
        text = value.strip()
        if text not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return text

    return check


def _roles(value: str) -> str:
    names = [name.strip() for name in value.split(",")]
    unknown = [name for name in names if name not in CHANNEL_ROLES]
    if unknown:
        raise ValueError(
            f"unknown channel role {unknown[0]!r} (roles: {', '.join(CHANNEL_ROLES)}, comma-separated)"
        )
    return ",".join(names)


def _seconds(value: str) -> str:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 < number <= 86400:
        raise ValueError("must be a number of seconds, above 0 and at most 86400")
    return text


def _device_ref(value: str) -> str:
    text = value.strip()
    if not DEVICE_ID.match(text):
        raise ValueError("must be a device id (give the gate an explicit id)")
    return text


def _ble_address(value: str) -> str:
    text = value.strip()
    if not _BLE_ADDRESS.match(text):
        raise ValueError("must be a Bluetooth address like AA:BB:CC:DD:EE:FF")
    return text.upper()


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One config key: its check and what it means (for error messages and docs)."""

    name: str
    check: Check
    means: str


CONFIG_KEYS: dict[str, ConfigKey] = {
    key.name: key
    for key in (
        ConfigKey("host", _host, "the device's host name or IP address"),
        ConfigKey("port", _int_range(1, 65535), "its TCP port"),
        ConfigKey("unit", _int_range(0, 255), "the Modbus unit id"),
        ConfigKey("channels", _int_range(1, 64), "the number of switched channels: coils 0..N-1"),
        ConfigKey("roles", _roles, "what each channel feeds, e.g. light,ac,fresh_air"),
        ConfigKey("address", _ble_address, "the lock's Bluetooth address"),
        ConfigKey("profile", _choice(*PRINTER_PROFILES), "the printer's paper profile"),
        ConfigKey("sensor", _choice(*SENSOR_KINDS), "what the sensor senses"),
        ConfigKey("gate", _device_ref, "the id of the gate this entrance scanner releases"),
        ConfigKey("heartbeat_s", _seconds, "how often the device reports in, if not the default"),
    )
}


@dataclass(frozen=True, slots=True)
class DeviceType:
    """A (kind, protocol) pair the edge can drive and the config keys it takes."""

    kind: str
    protocol: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key this type takes: required, optional, then the ones every device takes."""
        return self.required + self.optional + COMMON_KEYS


# Every device may override how often it is expected to report in.
COMMON_KEYS = ("heartbeat_s",)

# The pairs the edge drives (edge/devices/registry.py, documented in drivers/README.md). Keys the
# edge defaults are optional here, except that a Modbus power switch must say its unit and
# channels: a wrong guess switches the wrong circuit.
DEVICE_TYPES: dict[tuple[str, str], DeviceType] = {
    (t.kind, t.protocol): t
    for t in (
        DeviceType("lock", "mqtt"),
        DeviceType("lock", "ble", required=("address",)),
        DeviceType("power", "modbus", required=("host", "port", "unit", "channels"), optional=("roles",)),
        DeviceType("power", "mqtt", optional=("channels", "roles")),
        DeviceType("gate", "modbus", required=("host", "port"), optional=("unit",)),
        DeviceType("gate", "mqtt"),
        DeviceType("printer", "escpos", required=("host", "port"), optional=("profile",)),
        DeviceType("scanner", "mqtt", optional=("gate",)),
        DeviceType("scanner", "tcp", required=("host", "port"), optional=("gate",)),
        DeviceType("sensor", "mqtt", optional=("sensor",)),
    )
}


def supported_pairs() -> str:
    """The supported kind/protocol pairs, for messages ("lock/mqtt, lock/ble, ...")."""
    return ", ".join(f"{k}/{p}" for k, p in DEVICE_TYPES)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """A problem with one part of a device: `where` is relative to the device ("config.port", "protocol")."""

    where: str
    message: str


def _as_text(value: object) -> str | None:
    """A config value as text: strings and integers (YAML numbers) only."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def check_device_config(
    kind: str, protocol: str, config: Mapping[str, object]
) -> tuple[dict[str, str], list[ConfigProblem]]:
    """Validate a device's kind, protocol and config; the normalised string config and every problem."""
    device_type = DEVICE_TYPES.get((kind, protocol))
    if device_type is None:
        kinds = sorted({k for k, _ in DEVICE_TYPES})
        if kind not in kinds:
            return {}, [ConfigProblem("kind", f"unknown device kind {kind!r} (known: {', '.join(kinds)})")]
        protocols = [p for k, p in DEVICE_TYPES if k == kind]
        return {}, [
            ConfigProblem(
                "protocol", f"a {kind} cannot speak {protocol!r} (it speaks: {', '.join(protocols)})"
            )
        ]
    clean: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for key, raw in config.items():
        where = f"config.{key}"
        if key not in device_type.keys:
            known = ", ".join(device_type.keys) or "none"
            problems.append(
                ConfigProblem(where, f"unknown config key for {kind}/{protocol} (it takes: {known})")
            )
            continue
        text = _as_text(raw)
        if text is None:
            problems.append(ConfigProblem(where, "must be a string or a whole number"))
            continue
        try:
            clean[key] = CONFIG_KEYS[key].check(text)
        except ValueError as err:
            problems.append(ConfigProblem(where, str(err)))
    roles, channels = clean.get("roles"), clean.get("channels", "1")
    if roles is not None and len(roles.split(",")) > int(channels):
        count = len(roles.split(","))
        problems.append(ConfigProblem("config.roles", f"{count} roles for {channels} channel(s)"))
    for key in device_type.required:
        if key not in config:
            problems.append(
                ConfigProblem(f"config.{key}", f"required for {kind}/{protocol} ({CONFIG_KEYS[key].means})")
            )
    return clean, problems


def check_device_name(value: str) -> str | None:
    """None when value is a valid device name (a lower-case slug), else the message."""
    if DEVICE_NAME.match(value):
        return None
    return "must be a lower-case slug: a-z, 0-9, '-' or '_', at most 40 characters"


def check_device_id(value: str) -> str | None:
    """None when value is a valid explicit device id (usable in MQTT topics), else the message."""
    if DEVICE_ID.match(value):
        return None
    return "must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'"


def derived_device_id(owner_id: str, name: str) -> str:
    """The cloud id of a named device without an explicit id: `<room id or store id>-<name>`."""
    return f"{owner_id}-{name}"
