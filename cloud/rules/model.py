"""Pure rules of booking settings: what each setting means, its limits, HQ bounds and the priority order.

A setting may be given chain-wide (HQ), per room type and per store; the effective value is the
first given of store > room type > chain > the built-in default. HQ sets bounds (min/max, or
"locked") that every lower level must respect; the built-in hard limits bound everything.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cloud.errors import Conflict, Invalid


class Level(StrEnum):
    """Where an effective value came from."""

    STORE = "store"
    ROOM_TYPE = "room_type"
    CHAIN = "chain"
    DEFAULT = "default"


# Highest priority first.
PRIORITY: tuple[Level, ...] = (Level.STORE, Level.ROOM_TYPE, Level.CHAIN)
ALL_LEVELS = frozenset(PRIORITY)


class Kind(StrEnum):
    """The type of a setting's value."""

    INT = "int"
    TIERS = "tiers"


@dataclass(frozen=True, slots=True)
class Spec:
    """One setting: its type, built-in default, hard limits, unit and the levels that may set it."""

    key: str
    kind: Kind
    default: Any
    lo: int
    hi: int
    unit: str
    levels: frozenset[Level] = ALL_LEVELS


DEFAULT_TIERS: list[dict[str, int]] = [
    {"min_before_min": 120, "refund_pct": 100},
    {"min_before_min": 30, "refund_pct": 50},
]

SPECS: dict[str, Spec] = {
    spec.key: spec
    for spec in (
        # How far ahead a booking may start.
        Spec("booking_window_days", Kind.INT, 15, 1, 365, "days"),
        Spec("min_duration_min", Kind.INT, 60, 1, 1440, "minutes"),
        # Durations grow from the minimum in steps; customer holds also start on this grid.
        Spec("step_min", Kind.INT, 30, 1, 240, "minutes"),
        Spec("cleaning_gap_min", Kind.INT, 30, 0, 240, "minutes"),
        Spec("hold_min", Kind.INT, 15, 1, 120, "minutes"),
        Spec("deposit_pct", Kind.INT, 100, 0, 100, "percent"),
        # Tiers: refund_pct when cancelled at least min_before_min before the start; none after.
        Spec("cancellation_tiers", Kind.TIERS, DEFAULT_TIERS, 0, 100, "tiers"),
        Spec("reschedule_notice_min", Kind.INT, 60, 0, 10080, "minutes"),
        # The edge applies one grace per store: a room type cannot set it.
        Spec("early_grace_s", Kind.INT, 900, 0, 6 * 3600, "seconds", frozenset({Level.STORE, Level.CHAIN})),
        # How long before a session's end the edge flashes the lights and speaks in the room.
        Spec("warning_lead_min", Kind.INT, 5, 0, 120, "minutes"),
    )
}

# The settings a store's edge applies to room sessions (protos/README.md), sent in its store data.
EDGE_SETTING_KEYS = ("warning_lead_min", "cleaning_gap_min", "early_grace_s")


def edge_layer(values: Mapping[str, Any]) -> dict[str, int]:
    """What one level sets of the edge's session settings (whole numbers only)."""
    return {
        key: int(value)
        for key in EDGE_SETTING_KEYS
        if isinstance(value := values.get(key), int) and not isinstance(value, bool)
    }


MAX_CLEANING_GAP_MIN = SPECS["cleaning_gap_min"].hi


class OutsideBounds(Invalid):
    """A value outside the bounds HQ allows (or outside the built-in limits)."""

    code = "outside_bounds"


class SettingLocked(Invalid):
    """HQ locked this setting: lower levels may not set it."""

    code = "setting_locked"


class BoundsExcludeOverrides(Conflict):
    """New HQ bounds would leave existing lower-level values outside them."""

    code = "bounds_exclude_overrides"


@dataclass(frozen=True, slots=True)
class CancellationTier:
    """Refund refund_pct percent when cancelled at least min_before_min minutes before the start."""

    min_before_min: int
    refund_pct: int


@dataclass(frozen=True, slots=True)
class Bound:
    """HQ's bounds on one setting for lower levels."""

    min: int | None = None
    max: int | None = None
    locked: bool = False

    def as_json(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.locked:
            out["locked"] = True
        return out


def _spec(key: str, field: str) -> Spec:
    spec = SPECS.get(key)
    if spec is None:
        raise Invalid(f"unknown setting {key!r}", code="unknown_setting", field=field)
    return spec


def _int(value: object, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be an integer", code="invalid_setting", field=field)
    if not lo <= value <= hi:
        error = OutsideBounds(f"{field} must be within {lo}..{hi}", field=field)
        error.extra = {"min": lo, "max": hi}
        raise error
    return value


def parse_tiers(value: object, field: str) -> tuple[CancellationTier, ...]:
    """Cancellation tiers from JSON: distinct notices, refund falling as the notice shrinks."""
    if not isinstance(value, list):
        raise Invalid(f"{field} must be a list of tiers", code="invalid_setting", field=field)
    tiers: list[CancellationTier] = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise Invalid(f"{where} must be an object", code="invalid_setting", field=where)
        tiers.append(
            CancellationTier(
                _int(item.get("min_before_min"), f"{where}.min_before_min", 0, 60 * 24 * 365),
                _int(item.get("refund_pct"), f"{where}.refund_pct", 0, 100),
            )
        )
    tiers.sort(key=lambda t: -t.min_before_min)
    for before, after in itertools.pairwise(tiers):
        if before.min_before_min == after.min_before_min:
            raise Invalid(f"{field}: two tiers at the same notice", code="invalid_setting", field=field)
        if after.refund_pct > before.refund_pct:
            raise Invalid(
                f"{field}: a later cancellation cannot refund more", code="invalid_setting", field=field
            )
    return tuple(tiers)


def tiers_json(tiers: tuple[CancellationTier, ...]) -> list[dict[str, int]]:
    """The JSON form of tiers (longest notice first)."""
    return [{"min_before_min": t.min_before_min, "refund_pct": t.refund_pct} for t in tiers]


def check_value(key: str, value: object, field: str | None = None) -> Any:
    """A setting's value checked against its type and hard limits, in its JSON form."""
    field = field or key
    spec = _spec(key, field)
    if spec.kind is Kind.TIERS:
        return tiers_json(parse_tiers(value, field))
    return _int(value, field, spec.lo, spec.hi)


def check_bounds(raw: Mapping[str, Any]) -> dict[str, Bound]:
    """HQ bounds from JSON ({key: {"min", "max", "locked"}}), inside the hard limits."""
    bounds: dict[str, Bound] = {}
    for key, item in raw.items():
        field = f"bounds.{key}"
        spec = _spec(key, field)
        if not isinstance(item, Mapping) or set(item) - {"min", "max", "locked"}:
            raise Invalid(
                f"{field} must be an object of min, max, locked", code="invalid_bounds", field=field
            )
        locked = item.get("locked", False)
        if not isinstance(locked, bool):
            raise Invalid(f"{field}.locked must be true or false", code="invalid_bounds", field=field)
        lo, hi = item.get("min"), item.get("max")
        if spec.kind is Kind.TIERS and (lo is not None or hi is not None):
            raise Invalid(f"{field}: tiers can only be locked", code="invalid_bounds", field=field)
        lo = None if lo is None else _int(lo, f"{field}.min", spec.lo, spec.hi)
        hi = None if hi is None else _int(hi, f"{field}.max", spec.lo, spec.hi)
        if lo is not None and hi is not None and lo > hi:
            raise Invalid(f"{field}: min is above max", code="invalid_bounds", field=field)
        bounds[key] = Bound(lo, hi, locked)
    return bounds


def bounds_json(bounds: Mapping[str, Bound]) -> dict[str, dict[str, Any]]:
    """The JSON form of bounds."""
    return {key: bound.as_json() for key, bound in sorted(bounds.items())}


def within_bounds(key: str, value: Any, bound: Bound | None, field: str) -> None:
    """Raise OutsideBounds when value breaks HQ's bound on key."""
    if bound is None or not isinstance(value, int):
        return
    lo = bound.min if bound.min is not None else SPECS[key].lo
    hi = bound.max if bound.max is not None else SPECS[key].hi
    if not lo <= value <= hi:
        error = OutsideBounds(f"{key} must be within {lo}..{hi} (the bounds HQ allows)", field=field)
        error.extra = {"min": lo, "max": hi}
        raise error


def check_values(raw: Mapping[str, Any], level: Level, bounds: Mapping[str, Bound]) -> dict[str, Any]:
    """Values one level sets, checked against types, hard limits, the levels allowed and HQ's bounds."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        field = f"values.{key}"
        spec = _spec(key, field)
        if level not in spec.levels:
            raise Invalid(
                f"{key} cannot be set per {level.value.replace('_', ' ')}",
                code="level_not_allowed",
                field=field,
            )
        checked = check_value(key, value, field)
        bound = bounds.get(key)
        if level is not Level.CHAIN and bound is not None and bound.locked:
            raise SettingLocked(f"HQ locked {key}", field=field)
        within_bounds(key, checked, bound, field)
        values[key] = checked
    return values


def bound_violations(
    overrides: Mapping[tuple[Level, str], Mapping[str, Any]], bounds: Mapping[str, Bound]
) -> list[dict[str, Any]]:
    """Every lower-level value (and the chain value) that the given bounds would exclude."""
    found: list[dict[str, Any]] = []
    for (level, scope), values in sorted(overrides.items()):
        for key, value in sorted(values.items()):
            bound = bounds.get(key)
            if bound is None:
                continue
            if bound.locked and level is not Level.CHAIN:
                found.append({"level": level.value, "scope": scope, "key": key, "value": value})
                continue
            try:
                within_bounds(key, value, bound, key)
            except OutsideBounds:
                found.append({"level": level.value, "scope": scope, "key": key, "value": value})
    return found


@dataclass(frozen=True, slots=True)
class Effective:
    """An effective value and the level it came from."""

    value: Any
    level: Level


@dataclass(frozen=True, slots=True)
class BookingRules:
    """The effective booking settings of one room (store > room type > chain > default)."""

    booking_window_days: int
    min_duration_min: int
    step_min: int
    cleaning_gap_min: int
    hold_min: int
    deposit_pct: int
    cancellation_tiers: tuple[CancellationTier, ...]
    reschedule_notice_min: int
    early_grace_s: int
    sources: Mapping[str, Effective]

    def terms(self) -> dict[str, Any]:
        """What a booking keeps of the rules it was made under (the customer agreed to these)."""
        return {
            "cleaning_gap_min": self.cleaning_gap_min,
            "deposit_pct": self.deposit_pct,
            "cancellation_tiers": tiers_json(self.cancellation_tiers),
            "reschedule_notice_min": self.reschedule_notice_min,
        }


def effective(layers: Mapping[Level, Mapping[str, Any]]) -> dict[str, Effective]:
    """Each setting's effective value and its level, given the values each level sets."""
    out: dict[str, Effective] = {}
    for key, spec in SPECS.items():
        out[key] = Effective(spec.default, Level.DEFAULT)
        for level in PRIORITY:
            values = layers.get(level, {})
            if key in values and level in spec.levels:
                out[key] = Effective(values[key], level)
                break
    return out


def resolve(layers: Mapping[Level, Mapping[str, Any]]) -> BookingRules:
    """The effective booking rules from the values of each level."""
    found = effective(layers)

    def num(key: str) -> int:
        value = found[key].value
        return int(value)

    return BookingRules(
        booking_window_days=num("booking_window_days"),
        min_duration_min=num("min_duration_min"),
        step_min=num("step_min"),
        cleaning_gap_min=num("cleaning_gap_min"),
        hold_min=num("hold_min"),
        deposit_pct=num("deposit_pct"),
        cancellation_tiers=parse_tiers(found["cancellation_tiers"].value, "cancellation_tiers"),
        reschedule_notice_min=num("reschedule_notice_min"),
        early_grace_s=num("early_grace_s"),
        sources=found,
    )


DEFAULT_RULES = resolve({})
