"""Pure rules of devices: which kinds and protocols exist and which config keys each needs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloud.errors import Invalid
from cloud.tenancy.model import check_zone

_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

# (kind, protocol) -> config keys that must be present; other pairs are accepted with any config
# (new device kinds are data for the edge, not code here).
REQUIRED_CONFIG: dict[tuple[str, str], tuple[str, ...]] = {
    ("lock", "mqtt"): (),
    ("power", "modbus"): ("host", "port"),
    ("power", "mqtt"): (),
    ("scanner", "mqtt"): (),
    ("scanner", "tcp"): ("host", "port"),
}
INT_KEYS = ("port", "unit", "channels")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What an edge must know about a device."""

    id: str
    room_id: str | None
    kind: str
    protocol: str
    config: Mapping[str, str]
    zone: str = ""

    def payload(self) -> dict[str, Any]:
        """The store-feed payload of this item."""
        return {
            "id": self.id,
            "room_id": self.room_id or "",
            "kind": self.kind,
            "protocol": self.protocol,
            "config": dict(self.config),
            "zone": self.zone,
        }


def check_device_id(value: str) -> str:
    """A device id usable in MQTT topics: [A-Za-z0-9_-]{1,64}."""
    if not _DEVICE_ID.match(value):
        raise Invalid("device id must match [A-Za-z0-9_-]{1,64}", code="invalid_device_id", field="id")
    return value


def check_device(kind: str, protocol: str, config: Mapping[str, str]) -> dict[str, str]:
    """Validate a device's kind, protocol and config; return the config as a plain dict."""
    for field, value in (("kind", kind), ("protocol", protocol)):
        if not _SLUG.match(value):
            raise Invalid(f"{field} must be a lower-case slug", code="invalid_kind", field=field)
    clean = {str(k): str(v) for k, v in config.items()}
    for key in REQUIRED_CONFIG.get((kind, protocol), ()):
        if not clean.get(key):
            raise Invalid(
                f"{kind}/{protocol} needs config key {key!r}", code="missing_config", field=f"config.{key}"
            )
    for key in INT_KEYS:
        if key in clean and not clean[key].isdigit():
            raise Invalid(f"config {key!r} must be a number", code="invalid_config", field=f"config.{key}")
    port = clean.get("port")
    if port is not None and not 0 < int(port) < 65536:
        raise Invalid("config 'port' must be 1..65535", code="invalid_config", field="config.port")
    return clean


def check_device_zone(zone: str, room_id: str | None) -> str:
    """A device's alarm zone: only a store-wide device has its own (a room's device takes the room's)."""
    clean = check_zone(zone)
    if clean and room_id is not None:
        raise Invalid(
            "a device in a room takes the room's zone; give the zone to the room",
            code="zone_on_room_device",
            field="zone",
        )
    return clean
