"""What the cloud holds for one store, as read through its API (pure dataclasses and JSON readers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.manifest.model import ROOM_FIELDS, STORE_FIELDS


@dataclass(frozen=True, slots=True)
class RegionState:
    """A region of the tenant."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class StoreState:
    """A store and its managed fields (API names)."""

    id: str
    region_id: str
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoomState:
    """A room and its managed fields (API names)."""

    id: str
    name: str
    kind: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device (room_id None: store-wide)."""

    id: str
    kind: str
    protocol: str
    room_id: str | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    zone: str = ""


@dataclass(frozen=True, slots=True)
class CloudState:
    """The tenant's regions and, when it exists, the store with its rooms, devices and settings.

    `booking_settings` is what the store overrides (None: not read); `setting_keys` the settings
    the cloud knows (None: not read).
    """

    regions: tuple[RegionState, ...] = ()
    store: StoreState | None = None
    rooms: tuple[RoomState, ...] = ()
    devices: tuple[DeviceState, ...] = ()
    booking_settings: Mapping[str, Any] | None = None
    setting_keys: frozenset[str] | None = None


def region_from_json(data: Mapping[str, Any]) -> RegionState:
    """A region from the API's JSON."""
    return RegionState(id=str(data["id"]), name=str(data["name"]))


def store_from_json(data: Mapping[str, Any]) -> StoreState:
    """A store from the API's JSON (fields the API does not return are left out)."""
    return StoreState(
        id=str(data["id"]),
        region_id=str(data["region_id"]),
        name=str(data["name"]),
        fields={key: data[key] for key in STORE_FIELDS if key in data},
    )


def room_from_json(data: Mapping[str, Any]) -> RoomState:
    """A room from the API's JSON."""
    return RoomState(
        id=str(data["id"]),
        name=str(data["name"]),
        kind=str(data["kind"]),
        fields={key: data[key] for key in ROOM_FIELDS if key in data},
    )


def device_from_json(data: Mapping[str, Any]) -> DeviceState:
    """A device from the API's JSON."""
    room_id = data.get("room_id")
    return DeviceState(
        id=str(data["id"]),
        kind=str(data["kind"]),
        protocol=str(data["protocol"]),
        room_id=str(room_id) if room_id else None,
        config={str(k): str(v) for k, v in (data.get("config") or {}).items()},
        zone=str(data.get("zone") or ""),
    )
