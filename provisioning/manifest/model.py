"""The store manifest: its YAML shape, every validation rule, and the desired state it describes (pure).

A manifest names one store of one region, its rooms (with their devices) and store-wide devices.
Fields left out are not managed (the cloud keeps what it has); `null` clears a field the cloud
can clear (opening_hours: open around the clock; capacity_max; price_plan). Only fields the
cloud API knows are accepted: anything else is an error naming its path, never silently dropped.

`parse_manifest(text)` returns a `StoreManifest` or raises `ManifestInvalid` listing every
problem as `path: message` with its line.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from provisioning.errors import ProvisionError
from provisioning.manifest.devices import (
    check_device_config,
    check_device_id,
    check_device_name,
)
from provisioning.manifest.yamlpos import Path, YamlDoc, YamlSyntaxError, format_path, load_yaml

DAY_MINUTES = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PRICE_PER_HOUR = 10_000_000  # fen
MAX_SURCHARGE_PCT = 300
MAX_DISCOUNT_PCT = 100
MAX_CAPACITY = 1000
MAX_FACILITIES = 40
MAX_NOTICE_MIN = 60 * 24 * 365
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_PLAN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}$")
# An alarm zone (a floor, a wing), as the cloud accepts it.
ZONE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$")

# The store and room fields the cloud API manages, in its own names.
STORE_FIELDS = ("timezone", "city", "area", "opening_hours", "closed_dates")
ROOM_FIELDS = ("room_type", "capacity_min", "capacity_max", "facilities", "price_plan", "zone")


# ---------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a manifest: where (`rooms[2].devices[0].config.port`), what, and its line."""

    path: str
    message: str
    line: int = 0

    def render(self, source: str = "") -> str:
        """`source:line: path: message`."""
        where = ":".join(part for part in (source, str(self.line) if self.line else "") if part)
        lead = f"{where}: " if where else ""
        return f"{lead}{self.path or '<top>'}: {self.message}"


class ManifestInvalid(ProvisionError):
    """The manifest is not valid; `problems` lists every problem found."""

    code = "invalid_manifest"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p.render(source)}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


# ---------------------------------------------------------------- clock times (YAML 1.1 quirks)


def _clock_text(value: object) -> object:
    """YAML 1.1 reads an unquoted 10:30 as the base-60 integer 630, which is exactly minutes: undo it."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= DAY_MINUTES:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


def _date_text(value: object) -> object:
    """YAML reads an unquoted 2026-02-17 as a date: keep the ISO text."""
    return value.isoformat() if isinstance(value, date) else value


Clock = Annotated[str, BeforeValidator(_clock_text)]
DateText = Annotated[str, BeforeValidator(_date_text)]


def parse_clock(value: str, *, allow_24: bool) -> int:
    """ "HH:MM" as minutes since midnight; ValueError with the message to show."""
    text = value.strip()
    if len(text) != 5 or text[2] != ":" or not (text[:2].isdigit() and text[3:].isdigit()):
        raise ValueError(f"{value!r} is not HH:MM")
    hours, minutes = int(text[:2]), int(text[3:])
    total = hours * 60 + minutes
    if minutes >= 60 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_24):
        raise ValueError(
            f"{value!r} is not a time of day" + (" (24:00 only as an end)" if not allow_24 else "")
        )
    return total


def format_clock(minutes: int) -> str:
    """Minutes since midnight as "HH:MM"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---------------------------------------------------------------- the YAML shape


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BandSpec(_Strict):
    """A time-of-day band priced per hour (fen)."""

    start: Clock = Field(alias="from")
    to: Clock
    per_hour: int


class WindowSpec(_Strict):
    """A peak (surcharge) or off-peak (discount) window, in whole percent."""

    start: Clock = Field(alias="from")
    to: Clock
    pct: int
    days: list[Literal["weekday", "holiday"]] | None = None


class PlanSpec(_Strict):
    """A room's price plan, as the cloud reads it (money in fen: 3000 = 30.00 yuan)."""

    weekday: list[BandSpec]
    holiday: list[BandSpec] | None = None
    peak: list[WindowSpec] = Field(default_factory=list)
    off_peak: list[WindowSpec] = Field(default_factory=list)


class DeviceSpec(_Strict):
    """A device: its name (default: its kind) or explicit id, kind, protocol and config."""

    name: str | None = None
    id: str | None = None
    kind: str
    protocol: str
    config: dict[str, Any] = Field(default_factory=dict)
    # A store-wide device's alarm zone (a room's devices take the room's zone); absent: unmanaged.
    zone: str | None = None


class RoomSpec(_Strict):
    """A room: identity (name, or id to allow renames), kind, details, price plan and devices."""

    id: str | None = None
    name: str
    kind: str
    room_type: str = ""
    capacity_min: int = 1
    capacity_max: int | None = None
    facilities: list[str] = Field(default_factory=list)
    # A name from `price_plans`, an inline plan mapping, or null (no plan).
    price_plan: Any = None
    # The alarm zone (floor, wing) the room lies in; "" none (an alarm there opens the whole store).
    zone: str = ""
    # Each a DeviceSpec, validated one by one so that one bad device does not hide the others.
    devices: list[Any] = Field(default_factory=list)


class StoreSpec(_Strict):
    """The store: identity (name, or id to allow renames) and what the API lets us set."""

    id: str | None = None
    name: str
    timezone: str = "Asia/Shanghai"
    city: str = ""
    area: str = ""
    opening_hours: dict[str, list[str]] | None = None
    closed_dates: list[DateText] = Field(default_factory=list)
    booking_settings: dict[str, Any] | None = None


class ManifestSpec(_Strict):
    """The whole manifest file."""

    version: Literal[1] = 1
    region: str
    # A StoreSpec, PlanSpecs, RoomSpecs and DeviceSpecs: each validated on its own, so that one
    # bad room does not hide the problems of the next.
    store: Any
    price_plans: dict[str, Any] = Field(default_factory=dict)
    rooms: list[Any] = Field(default_factory=list)
    devices: list[Any] = Field(default_factory=list)


# ---------------------------------------------------------------- the desired state


@dataclass(frozen=True, slots=True)
class DesiredDevice:
    """A device as the manifest wants it; `room` is the room's name (None: store-wide).

    `zone` is a store-wide device's alarm zone (None: not managed).
    """

    name: str
    kind: str
    protocol: str
    config: Mapping[str, str]
    room: str | None = None
    id: str | None = None
    where: str = ""
    zone: str | None = None

    @property
    def label(self) -> str:
        """How the plan names it: `Room / name` (or `store / name`)."""
        return f"{self.room or 'store'} / {self.id or self.name}"


@dataclass(frozen=True, slots=True)
class DesiredRoom:
    """A room as the manifest wants it; `fields` holds only the managed API fields, canonical."""

    name: str
    kind: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    devices: tuple[DesiredDevice, ...] = ()
    id: str | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class DesiredStore:
    """The store as the manifest wants it; `booking_settings` None: not managed."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    booking_settings: Mapping[str, Any] | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class StoreManifest:
    """A validated manifest: one store of one region, its rooms and store-wide devices."""

    region: str
    store: DesiredStore
    rooms: tuple[DesiredRoom, ...] = ()
    devices: tuple[DesiredDevice, ...] = ()
    source: str = "<manifest>"

    def all_devices(self) -> list[DesiredDevice]:
        """Every device: the rooms' in order, then the store-wide ones."""
        return [d for room in self.rooms for d in room.devices] + list(self.devices)


# ---------------------------------------------------------------- canonical forms (also for cloud values)


def canonical_hours(raw: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]] | None:
    """Opening hours as the cloud stores them: every weekday, sorted "HH:MM-HH:MM" (None: always open)."""
    if raw is None:
        return None
    out: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        spans = []
        for text in raw.get(day, []):
            start, end = _interval(text)
            spans.append((start, end))
        out[day] = [
            f"{format_clock(a)}-{format_clock(b % DAY_MINUTES if b > DAY_MINUTES else b)}"
            for a, b in sorted(spans)
        ]
    return out


def _bands_json(bands: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = [
        {"from": str(_clock_text(b["from"])), "to": str(_clock_text(b["to"])), "per_hour": b["per_hour"]}
        for b in bands
    ]
    return sorted(items, key=lambda b: parse_clock(b["from"], allow_24=False))


def _windows_json(windows: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "from": str(_clock_text(w["from"])),
            "to": str(_clock_text(w["to"])),
            "pct": w["pct"],
            "days": sorted(set(w.get("days") or ["weekday", "holiday"])),
        }
        for w in windows or []
    ]


def canonical_plan(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A price plan as the cloud stores it: holiday bands filled in, bands sorted, window days explicit."""
    if raw is None:
        return None
    try:
        weekday = _bands_json(raw["weekday"])
        holiday = _bands_json(raw["holiday"]) if raw.get("holiday") is not None else weekday
        return {
            "weekday": weekday,
            "holiday": holiday,
            "peak": _windows_json(raw.get("peak")),
            "off_peak": _windows_json(raw.get("off_peak")),
        }
    except (KeyError, TypeError, ValueError):
        return dict(raw)  # not a plan we understand: compare as given


def canonical_facilities(values: Sequence[str]) -> list[str]:
    """Facility tags trimmed and unique, in order."""
    seen: list[str] = []
    for value in values:
        tag = value.strip()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def canonical_tiers(value: Any) -> Any:
    """Cancellation tiers longest notice first (as the cloud keeps them); anything else unchanged."""
    if isinstance(value, list) and all(isinstance(t, Mapping) and "min_before_min" in t for t in value):
        return sorted((dict(t) for t in value), key=lambda t: -int(t["min_before_min"]))
    return value


def canonical_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Booking settings with tiers in the cloud's order."""
    return {key: canonical_tiers(value) for key, value in values.items()}


# ---------------------------------------------------------------- rule checks


class _Problems:
    """Collects problems with their lines."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.items: list[Problem] = []

    def add(self, path: Path, message: str) -> None:
        self.items.append(Problem(format_path(path), message, self.doc.line_of(path)))


def _interval(text: str) -> tuple[int, int]:
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    start_text, end_text = (part.strip() for part in text.split("-"))
    start = parse_clock(start_text, allow_24=False)
    end = parse_clock(end_text, allow_24=True)
    if end <= start:
        end += DAY_MINUTES  # closes after midnight
    return start, end


def _check_name(value: str, path: Path, out: _Problems, *, limit: int = 200) -> str:
    name = value.strip()
    if not name or len(name) > limit:
        out.add(path, f"must be 1-{limit} characters")
    return name


def _check_zone(value: str, path: Path, out: _Problems) -> str:
    zone = value.strip()
    if zone and not ZONE_PATTERN.match(zone):
        out.add(path, "a zone has 1-40 letters, digits, spaces, '_', '.' or '-'")
    return zone


def _check_slug(value: str, path: Path, out: _Problems) -> None:
    if not _SLUG.match(value):
        out.add(path, "must be a lower-case slug: a-z, 0-9, '-' or '_', at most 40 characters")


def _check_hours(raw: Mapping[str, list[str]], path: Path, out: _Problems) -> bool:
    ok = True
    for day, items in raw.items():
        if day not in WEEKDAYS:
            out.add((*path, day), f"unknown weekday (use {', '.join(WEEKDAYS)})")
            ok = False
            continue
        spans: list[tuple[int, int]] = []
        for i, text in enumerate(items):
            try:
                spans.append(_interval(text))
            except ValueError as err:
                out.add((*path, day, i), f"{err} (opening hours are like '10:00-02:00')")
                ok = False
        for before, after in itertools.pairwise(sorted(spans)):
            if after[0] < before[1]:
                out.add((*path, day), "opening intervals overlap")
                ok = False
    return ok


def _check_dates(values: Sequence[str], path: Path, out: _Problems) -> list[str]:
    days: set[str] = set()
    for i, text in enumerate(values):
        try:
            days.add(date.fromisoformat(text).isoformat())
        except ValueError:
            out.add((*path, i), "must be an ISO date like 2026-02-17")
    return sorted(days)


def _check_settings(raw: Mapping[str, Any], path: Path, out: _Problems) -> None:
    for key, value in raw.items():
        where = (*path, key)
        if not _SLUG.match(key):
            out.add(where, "unknown setting name")
        elif isinstance(value, list):
            for i, tier in enumerate(value):
                if not isinstance(tier, Mapping) or set(tier) != {"min_before_min", "refund_pct"}:
                    out.add((*where, i), "a tier is {min_before_min: minutes, refund_pct: 0-100}")
                    continue
                notice, pct = tier["min_before_min"], tier["refund_pct"]
                if (
                    isinstance(notice, bool)
                    or not isinstance(notice, int)
                    or not 0 <= notice <= MAX_NOTICE_MIN
                ):
                    out.add((*where, i, "min_before_min"), f"must be 0-{MAX_NOTICE_MIN}")
                if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
                    out.add((*where, i, "refund_pct"), "must be 0-100")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            out.add(where, "must be a whole number (or a list of cancellation tiers)")


def _check_bands(bands: Sequence[BandSpec], path: Path, out: _Problems) -> None:
    if not bands:
        out.add(path, "must list at least one band")
        return
    spans: list[tuple[int, int, int]] = []
    for i, band in enumerate(bands):
        where = (*path, i)
        try:
            start = parse_clock(band.start, allow_24=False)
            end = parse_clock(band.to, allow_24=True)
        except ValueError as err:
            out.add(where, str(err))
            continue
        if end <= start:
            out.add((*where, "to"), "must be after 'from' (split a band that crosses midnight in two)")
            continue
        if not 0 <= band.per_hour <= MAX_PRICE_PER_HOUR:
            out.add((*where, "per_hour"), f"must be 0-{MAX_PRICE_PER_HOUR} (fen)")
        spans.append((start, end, i))
    if len(spans) != len(bands):
        return
    edge = 0
    for start, end, _ in sorted(spans):
        if start != edge:
            out.add(
                path, f"bands must cover the whole day without gaps or overlaps (check {format_clock(edge)})"
            )
            return
        edge = end
    if edge != DAY_MINUTES:
        out.add(path, f"bands must cover the whole day (they end at {format_clock(edge)})")


def _check_windows(plan: PlanSpec, path: Path, out: _Problems) -> None:
    spans: dict[str, list[tuple[int, int, str]]] = {"weekday": [], "holiday": []}
    for kind, windows, limit in (
        ("peak", plan.peak, MAX_SURCHARGE_PCT),
        ("off_peak", plan.off_peak, MAX_DISCOUNT_PCT),
    ):
        for i, window in enumerate(windows):
            where = (*path, kind, i)
            try:
                start = parse_clock(window.start, allow_24=False)
                end = parse_clock(window.to, allow_24=True)
            except ValueError as err:
                out.add(where, str(err))
                continue
            if end <= start:
                out.add((*where, "to"), "must be after 'from' (split a window that crosses midnight in two)")
                continue
            if not 0 <= window.pct <= limit:
                out.add((*where, "pct"), f"must be 0-{limit}")
            if window.days is not None and not window.days:
                out.add((*where, "days"), "must list 'weekday' and/or 'holiday' (or leave it out for both)")
            days: Sequence[str] = window.days or ("weekday", "holiday")
            for day in days:
                spans[day].append((start, end, kind))
    for day, items in spans.items():
        for before, after in itertools.pairwise(sorted(items)):
            if after[0] < before[1]:
                out.add(path, f"peak and off-peak windows overlap on {day}s at {format_clock(after[0])}")


def _check_plan(plan: PlanSpec, path: Path, out: _Problems) -> dict[str, Any]:
    before = len(out.items)
    _check_bands(plan.weekday, (*path, "weekday"), out)
    if plan.holiday is not None:
        _check_bands(plan.holiday, (*path, "holiday"), out)
    _check_windows(plan, path, out)
    if len(out.items) != before:
        return {}
    json = plan.model_dump(by_alias=True)
    return canonical_plan(json) or {}


def _resolve_plan(
    raw: Any, plans: Mapping[str, dict[str, Any] | None], path: Path, out: _Problems
) -> dict[str, Any] | None:
    """A room's plan: by name (None in plans: that plan is invalid, already reported), inline, or null."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw not in plans:
            known = ", ".join(sorted(plans)) or "none defined"
            out.add(path, f"no price plan {raw!r} in price_plans (known: {known})")
            return None
        return plans[raw]
    if isinstance(raw, Mapping):
        spec = _validated(PlanSpec, raw, path, out)
        return _check_plan(spec, path, out) if spec is not None else None
    out.add(path, "must be the name of a plan in price_plans, an inline plan, or null")
    return None


def _device(spec: DeviceSpec, room: str | None, path: Path, out: _Problems) -> DesiredDevice:
    name = spec.name if spec.name is not None else spec.kind
    if (message := check_device_name(name)) is not None:
        out.add((*path, "name" if spec.name is not None else "kind"), message)
    if spec.id is not None and (message := check_device_id(spec.id)) is not None:
        out.add((*path, "id"), message)
    config, problems = check_device_config(spec.kind, spec.protocol, spec.config)
    for problem in problems:
        out.add((*path, *problem.where.split(".", 1)), problem.message)
    zone = None
    if spec.zone is not None:
        zone = _check_zone(spec.zone, (*path, "zone"), out)
        if zone and room is not None:
            out.add((*path, "zone"), "a device in a room takes the room's zone: give the zone to the room")
    return DesiredDevice(
        name=name,
        kind=spec.kind,
        protocol=spec.protocol,
        config=config,
        room=room,
        id=spec.id,
        where=format_path(path),
        zone=zone,
    )


def _check_device_identities(devices: Sequence[tuple[DesiredDevice, Path]], out: _Problems) -> None:
    by_name: dict[tuple[str | None, str], DesiredDevice] = {}
    by_id: dict[str, DesiredDevice] = {}
    for device, path in devices:
        if device.id is not None:
            first = by_id.get(device.id)
            if first is not None:
                out.add((*path, "id"), f"device id {device.id!r} is already used by {first.where}")
            by_id.setdefault(device.id, device)
            continue
        key = (device.room, device.name)
        first = by_name.get(key)
        if first is not None:
            place = f"room {device.room!r}" if device.room else "the store"
            out.add(
                path,
                f"a second device named {device.name!r} in {place} (first: {first.where}); give each a name",
            )
        by_name.setdefault(key, device)


def _room(
    spec: RoomSpec,
    index: int,
    plans: Mapping[str, dict[str, Any] | None],
    out: _Problems,
    located: list[tuple[DesiredDevice, Path]],
) -> DesiredRoom:
    path: Path = ("rooms", index)
    given = spec.model_fields_set
    name = _check_name(spec.name, (*path, "name"), out)
    _check_slug(spec.kind, (*path, "kind"), out)
    fields: dict[str, Any] = {}
    if "room_type" in given:
        _check_slug(spec.room_type, (*path, "room_type"), out)
        fields["room_type"] = spec.room_type
    if "capacity_min" in given:
        if not 1 <= spec.capacity_min <= MAX_CAPACITY:
            out.add((*path, "capacity_min"), f"must be 1-{MAX_CAPACITY}")
        fields["capacity_min"] = spec.capacity_min
    if "capacity_max" in given:
        low = spec.capacity_min if "capacity_min" in given else 1
        if spec.capacity_max is not None and not low <= spec.capacity_max <= MAX_CAPACITY:
            out.add((*path, "capacity_max"), f"must be {low}-{MAX_CAPACITY} (at least capacity_min)")
        fields["capacity_max"] = spec.capacity_max
    if "facilities" in given:
        for i, tag in enumerate(spec.facilities):
            if not tag.strip() or len(tag.strip()) > 60:
                out.add((*path, "facilities", i), "must be 1-60 characters")
        facilities = canonical_facilities(spec.facilities)
        if len(facilities) > MAX_FACILITIES:
            out.add((*path, "facilities"), f"at most {MAX_FACILITIES} facilities")
        fields["facilities"] = facilities
    if "price_plan" in given:
        fields["price_plan"] = _resolve_plan(spec.price_plan, plans, (*path, "price_plan"), out)
    if "zone" in given:
        fields["zone"] = _check_zone(spec.zone, (*path, "zone"), out)
    if spec.id is not None and not spec.id.strip():
        out.add((*path, "id"), "must not be empty")
    devices = []
    for i, raw in enumerate(spec.devices):
        where = (*path, "devices", i)
        device_spec = _validated(DeviceSpec, raw, where, out)
        if device_spec is not None:
            devices.append(_device(device_spec, name, where, out))
            located.append((devices[-1], where))
    return DesiredRoom(
        name=name, kind=spec.kind, fields=fields, devices=tuple(devices), id=spec.id, where=format_path(path)
    )


def _store(spec: StoreSpec, out: _Problems) -> DesiredStore:
    path: Path = ("store",)
    given = spec.model_fields_set
    name = _check_name(spec.name, (*path, "name"), out)
    fields: dict[str, Any] = {}
    if "timezone" in given:
        try:
            zoneinfo.ZoneInfo(spec.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            out.add(
                (*path, "timezone"),
                f"unknown time zone {spec.timezone!r} (use an IANA name like Asia/Shanghai)",
            )
        fields["timezone"] = spec.timezone
    for key in ("city", "area"):
        if key in given:
            value: str = getattr(spec, key)
            if len(value.strip()) > 100:
                out.add((*path, key), "must be at most 100 characters")
            fields[key] = value.strip()
    if "opening_hours" in given:
        hours = spec.opening_hours
        if hours is None or _check_hours(hours, (*path, "opening_hours"), out):
            fields["opening_hours"] = canonical_hours(hours)
    if "closed_dates" in given:
        fields["closed_dates"] = _check_dates(spec.closed_dates, (*path, "closed_dates"), out)
    settings: dict[str, Any] | None = None
    if spec.booking_settings is not None:
        _check_settings(spec.booking_settings, (*path, "booking_settings"), out)
        settings = canonical_settings(spec.booking_settings)
    if spec.id is not None and not spec.id.strip():
        out.add((*path, "id"), "must not be empty")
    return DesiredStore(name=name, fields=fields, booking_settings=settings, id=spec.id)


# ---------------------------------------------------------------- pydantic errors -> problems


def _unwrap(annotation: Any) -> list[Any]:
    """The member types of an annotation (X | None -> [X])."""
    origin = get_origin(annotation)
    if origin is None or origin in (list, dict):
        return [annotation]
    return [a for a in get_args(annotation) if a is not type(None)]


def _fields_at(root: type[BaseModel], path: Sequence[str | int]) -> list[str] | None:
    """The field names (aliases) the model at path takes, or None when path does not lead to a model."""
    current: Any = root
    for part in path:
        candidates = _unwrap(current)
        nxt: Any = None
        for candidate in candidates:
            origin = get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
                info = next(
                    (f for n, f in candidate.model_fields.items() if (f.alias or n) == part),
                    None,
                )
                if info is not None:
                    nxt = info.annotation
            elif origin is list and isinstance(part, int):
                nxt = get_args(candidate)[0]
            elif origin is dict:
                nxt = get_args(candidate)[1]
            if nxt is not None:
                break
        if nxt is None:
            return None
        current = nxt
    for candidate in _unwrap(current):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return [f.alias or n for n, f in candidate.model_fields.items()]
    return None


_MESSAGES = {
    "missing": "required",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _pydantic_problems(
    err: ValidationError, doc: YamlDoc, *, prefix: Path = (), root: type[BaseModel] = ManifestSpec
) -> list[Problem]:
    problems: list[Problem] = []
    for item in err.errors():
        loc = tuple(item["loc"])
        path: Path = (*prefix, *loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            known = _fields_at(root, loc[:-1])
            hint = f" (this place takes: {', '.join(known)})" if known else ""
            message = f"unknown field: the cloud API has no {loc[-1]!r} here{hint}"
        elif kind == "value_error":
            message = str(item.get("ctx", {}).get("error", item["msg"]))
        elif kind == "literal_error":
            message = f"must be one of {item.get('ctx', {}).get('expected', '')}"
        else:
            message = _MESSAGES.get(kind, item["msg"])
        problems.append(Problem(format_path(path), message, doc.line_of(path)))
    return problems


# ---------------------------------------------------------------- entry points


Model = TypeVar("Model", bound=BaseModel)


def _validated(model: type[Model], raw: Any, path: Path, out: _Problems) -> Model | None:
    """raw as a model, or None with its problems added (paths under `path`)."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        out.items.extend(_pydantic_problems(err, out.doc, prefix=path, root=model))
        return None


def validate_manifest(doc: YamlDoc, source: str = "<manifest>") -> StoreManifest:
    """A StoreManifest from parsed YAML, or ManifestInvalid listing every problem.

    Each plan, room and device is validated on its own, so one bad part does not hide the others.
    """
    out = _Problems(doc)
    for path in doc.duplicates:
        out.add(path, "given twice (the second would silently replace the first)")
    if not isinstance(doc.data, Mapping):
        out.add((), "a manifest is a mapping with region, store and rooms")
        raise ManifestInvalid(source, out.items)
    data = doc.data
    # The top level first (unknown keys, version, region, the types of the parts); then each part
    # of the right type, even when the top level has problems.
    _validated(ManifestSpec, data, (), out)
    region = _check_name(data["region"], ("region",), out) if isinstance(data.get("region"), str) else ""
    store_spec = _validated(StoreSpec, data["store"], ("store",), out) if "store" in data else None
    store = _store(store_spec, out) if store_spec is not None else None
    plans_raw, rooms_raw, devices_raw = (data.get("price_plans"), data.get("rooms"), data.get("devices"))
    plans: dict[str, dict[str, Any] | None] = {}
    for name, raw in (plans_raw if isinstance(plans_raw, Mapping) else {}).items():
        where: Path = ("price_plans", name)
        if not _PLAN_NAME.match(name):
            out.add(where, "a plan name is 1-60 letters, digits, spaces, '.', '_' or '-'")
        plan = _validated(PlanSpec, raw, where, out)
        plans[name] = _check_plan(plan, where, out) if plan is not None else None
    located: list[tuple[DesiredDevice, Path]] = []
    rooms: list[DesiredRoom] = []
    names: dict[str, int] = {}
    ids: dict[str, int] = {}
    for i, raw in enumerate(rooms_raw if isinstance(rooms_raw, list) else []):
        room_spec = _validated(RoomSpec, raw, ("rooms", i), out)
        if room_spec is None:
            continue
        room = _room(room_spec, i, plans, out, located)
        rooms.append(room)
        if room.name in names:
            out.add(("rooms", i, "name"), f"room {room.name!r} is already rooms[{names[room.name]}]")
        names.setdefault(room.name, i)
        if room.id is not None:
            if room.id in ids:
                out.add(("rooms", i, "id"), f"room id {room.id!r} is already rooms[{ids[room.id]}]")
            ids.setdefault(room.id, i)
    store_devices: list[DesiredDevice] = []
    for i, raw in enumerate(devices_raw if isinstance(devices_raw, list) else []):
        device_spec = _validated(DeviceSpec, raw, ("devices", i), out)
        if device_spec is not None:
            store_devices.append(_device(device_spec, None, ("devices", i), out))
            located.append((store_devices[-1], ("devices", i)))
    _check_device_identities(located, out)
    if out.items or store is None:
        raise ManifestInvalid(source, out.items)
    return StoreManifest(
        region=region, store=store, rooms=tuple(rooms), devices=tuple(store_devices), source=source
    )


def parse_manifest(text: str, source: str = "<manifest>") -> StoreManifest:
    """Parse and validate manifest YAML text; ManifestInvalid (with lines) when anything is wrong."""
    try:
        doc = load_yaml(text)
    except YamlSyntaxError as err:
        raise ManifestInvalid(source, [Problem("", err.message, err.line)]) from err
    return validate_manifest(doc, source)
