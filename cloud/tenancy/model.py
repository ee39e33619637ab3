"""Pure rules of tenancy: names, time zones, ids and the store/room items an edge receives."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from cloud.errors import Invalid

DEFAULT_EARLY_GRACE_S = 900
MAX_EARLY_GRACE_S = 6 * 3600
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def clean_name(value: str, field: str = "name") -> str:
    """A display name: trimmed, 1..200 characters."""
    name = value.strip()
    if not name or len(name) > 200:
        raise Invalid("name must be 1..200 characters", code="invalid_name", field=field)
    return name


def check_timezone(value: str) -> str:
    """An IANA time zone name such as "Asia/Shanghai"."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise Invalid(f"unknown time zone {value!r}", code="invalid_timezone", field="timezone") from err
    return value


def check_early_grace(value: int) -> int:
    """Seconds before a booking's start its code opens the door (0..6 h)."""
    if not 0 <= value <= MAX_EARLY_GRACE_S:
        raise Invalid(
            f"early_grace_s must be within 0..{MAX_EARLY_GRACE_S}",
            code="invalid_grace",
            field="early_grace_s",
        )
    return value


def check_kind(value: str, field: str = "kind") -> str:
    """A lower-case slug naming a room type or device kind ("mahjong", "ktv", "lock")."""
    if not _SLUG.match(value):
        raise Invalid(f"{field} must be a lower-case slug", code="invalid_kind", field=field)
    return value


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What an edge must know about its store."""

    id: str
    tenant_id: str
    name: str
    timezone: str
    early_grace_s: int
    key_versions: tuple[int, ...]

    def payload(self) -> dict[str, Any]:
        """The store-feed payload of this item."""
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "timezone": self.timezone,
            "early_grace_s": self.early_grace_s,
            "key_versions": list(self.key_versions),
        }


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What an edge must know about a room."""

    id: str
    name: str
    kind: str

    def payload(self) -> dict[str, Any]:
        """The store-feed payload of this item."""
        return {"id": self.id, "name": self.name, "kind": self.kind}
