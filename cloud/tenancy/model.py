"""Pure rules of tenancy: names, time zones, opening hours, room capacity and the items an edge receives."""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cloud.errors import Invalid
from cloud.pricing.model import DAY_MINUTES, format_clock, parse_clock

DEFAULT_EARLY_GRACE_S = 900
MAX_EARLY_GRACE_S = 6 * 3600
MAX_CAPACITY = 1000
MAX_FACILITIES = 40
MAX_CLOSED_DATES = 1000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
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
    zone: str = ""

    def payload(self) -> dict[str, Any]:
        """The store-feed payload of this item."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "zone": self.zone}


_ZONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")


def check_zone(value: str, field: str = "zone") -> str:
    """An alarm zone name (a floor, a wing): trimmed, 1..40 letters, digits, space, _ . -; "" for none."""
    zone = value.strip()
    if zone and not _ZONE.match(zone):
        raise Invalid(
            "a zone has 1..40 letters, digits, spaces, '_', '.' or '-'", code="invalid_zone", field=field
        )
    return zone


def check_area(value: str, field: str) -> str:
    """A city or area name: trimmed, at most 100 characters (may be empty)."""
    name = value.strip()
    if len(name) > 100:
        raise Invalid(f"{field} must be at most 100 characters", code="invalid_name", field=field)
    return name


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Per weekday (Monday first), the opening intervals in minutes from that day's midnight.

    A close past 24:00 runs into the next day (a store open 10:00-02:00 closes at 26:00 = 1560).
    """

    week: tuple[tuple[tuple[int, int], ...], ...]


ALWAYS_OPEN = OpeningHours(week=tuple(((0, DAY_MINUTES),) for _ in WEEKDAYS))


def _interval(text: object, field: str) -> tuple[int, int]:
    if not isinstance(text, str) or text.count("-") != 1:
        raise Invalid(f"{field} must be 'HH:MM-HH:MM'", code="invalid_opening_hours", field=field)
    start_text, end_text = (part.strip() for part in text.split("-"))
    start = parse_clock(start_text, field, allow_24=False)
    end = parse_clock(end_text, field, allow_24=True)
    if end <= start:
        end += DAY_MINUTES  # closes after midnight
    return start, end


def parse_opening_hours(raw: Mapping[str, Any] | None) -> OpeningHours:
    """Opening hours from JSON: {"mon": ["10:00-14:00", "17:00-02:00"], ...}; a missing day is closed.

    None means open around the clock. Intervals of one day may not overlap.
    """
    if raw is None:
        return ALWAYS_OPEN
    unknown = set(raw) - set(WEEKDAYS)
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(f"unknown weekday {name!r} (use mon..sun)", code="invalid_opening_hours", field=name)
    week: list[tuple[tuple[int, int], ...]] = []
    for day in WEEKDAYS:
        items = raw.get(day, [])
        if not isinstance(items, list):
            raise Invalid(f"{day} must be a list of intervals", code="invalid_opening_hours", field=day)
        intervals = sorted(_interval(item, f"opening_hours.{day}[{i}]") for i, item in enumerate(items))
        for before, after in itertools.pairwise(intervals):
            if after[0] < before[1]:
                raise Invalid(
                    f"{day}: opening intervals overlap",
                    code="invalid_opening_hours",
                    field=f"opening_hours.{day}",
                )
        week.append(tuple(intervals))
    return OpeningHours(week=tuple(week))


def opening_hours_json(hours: OpeningHours) -> dict[str, list[str]]:
    """The JSON form of opening hours."""
    return {
        day: [
            f"{format_clock(a)}-{format_clock(b % DAY_MINUTES if b > DAY_MINUTES else b)}" for a, b in items
        ]
        for day, items in zip(WEEKDAYS, hours.week, strict=True)
    }


def parse_closed_dates(raw: Sequence[str] | None) -> frozenset[date]:
    """Closed days as ISO dates ("2026-02-17")."""
    if raw is None:
        return frozenset()
    if len(raw) > MAX_CLOSED_DATES:
        raise Invalid("too many closed dates", code="invalid_closed_dates", field="closed_dates")
    days: set[date] = set()
    for i, text in enumerate(raw):
        try:
            days.add(date.fromisoformat(text))
        except (TypeError, ValueError) as err:
            raise Invalid(
                f"closed_dates[{i}] is not an ISO date",
                code="invalid_closed_dates",
                field=f"closed_dates[{i}]",
            ) from err
    return frozenset(days)


def open_intervals(
    hours: OpeningHours, closed: Iterable[date], tz: zoneinfo.ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The store's opening intervals (UTC, merged) that touch [start, end)."""
    closed_days = frozenset(closed)
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    pieces: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if day not in closed_days:
            midnight = datetime.combine(day, time(0), tzinfo=tz)
            for a, b in hours.week[day.weekday()]:
                lo = (midnight + timedelta(minutes=a)).astimezone(UTC)
                hi = (midnight + timedelta(minutes=b)).astimezone(UTC)
                if lo < end and hi > start:
                    pieces.append((lo, hi))
        day += timedelta(days=1)
    pieces.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in pieces:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def check_capacity(capacity_min: int, capacity_max: int | None) -> tuple[int, int | None]:
    """Room capacity: 1 <= min <= max <= MAX_CAPACITY (max None: not declared)."""
    if not 1 <= capacity_min <= MAX_CAPACITY:
        raise Invalid(
            f"capacity_min must be 1..{MAX_CAPACITY}", code="invalid_capacity", field="capacity_min"
        )
    if capacity_max is not None and not capacity_min <= capacity_max <= MAX_CAPACITY:
        raise Invalid(
            f"capacity_max must be capacity_min..{MAX_CAPACITY}",
            code="invalid_capacity",
            field="capacity_max",
        )
    return capacity_min, capacity_max


def check_facilities(values: Sequence[str]) -> list[str]:
    """Facility tags (big screen, sound system, automatic mahjong table...): trimmed, unique, in order."""
    seen: list[str] = []
    for i, value in enumerate(values):
        tag = value.strip()
        if not tag or len(tag) > 60:
            raise Invalid(
                "a facility must be 1..60 characters", code="invalid_facility", field=f"facilities[{i}]"
            )
        if tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_FACILITIES:
        raise Invalid(f"at most {MAX_FACILITIES} facilities", code="invalid_facility", field="facilities")
    return seen
