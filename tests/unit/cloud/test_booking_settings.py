"""Pure booking settings: priority store > room type > chain > default, HQ bounds, locks, tiers."""

from __future__ import annotations

from typing import Any

import pytest

from cloud.errors import Invalid
from cloud.rules.model import (
    DEFAULT_RULES,
    SPECS,
    Bound,
    CancellationTier,
    Level,
    OutsideBounds,
    SettingLocked,
    bound_violations,
    check_bounds,
    check_values,
    effective,
    parse_tiers,
    resolve,
)


def test_the_built_in_defaults_follow_the_business_rules() -> None:
    rules = DEFAULT_RULES
    assert (rules.booking_window_days, rules.min_duration_min, rules.step_min) == (15, 60, 30)
    assert (rules.cleaning_gap_min, rules.hold_min, rules.deposit_pct) == (30, 15, 100)
    assert rules.cancellation_tiers == (CancellationTier(120, 100), CancellationTier(30, 50))
    assert rules.early_grace_s == 900
    assert all(source.level is Level.DEFAULT for source in rules.sources.values())


def test_store_beats_room_type_beats_chain_beats_default_and_each_value_names_its_level() -> None:
    layers: dict[Level, dict[str, Any]] = {
        Level.CHAIN: {"cleaning_gap_min": 20, "hold_min": 10, "deposit_pct": 50},
        Level.ROOM_TYPE: {"cleaning_gap_min": 45, "hold_min": 5},
        Level.STORE: {"cleaning_gap_min": 15},
    }
    found = effective(layers)
    assert (found["cleaning_gap_min"].value, found["cleaning_gap_min"].level) == (15, Level.STORE)
    assert (found["hold_min"].value, found["hold_min"].level) == (5, Level.ROOM_TYPE)
    assert (found["deposit_pct"].value, found["deposit_pct"].level) == (50, Level.CHAIN)
    assert (found["step_min"].value, found["step_min"].level) == (30, Level.DEFAULT)
    rules = resolve(layers)
    assert (rules.cleaning_gap_min, rules.hold_min, rules.deposit_pct) == (15, 5, 50)


def test_a_room_type_cannot_set_the_early_grace_the_edge_applies_per_store() -> None:
    with pytest.raises(Invalid) as err:
        check_values({"early_grace_s": 600}, Level.ROOM_TYPE, {})
    assert (err.value.code, err.value.field) == ("level_not_allowed", "values.early_grace_s")
    assert check_values({"early_grace_s": 600}, Level.STORE, {}) == {"early_grace_s": 600}
    # Even if stored somehow, a room type's grace is ignored.
    assert effective({Level.ROOM_TYPE: {"early_grace_s": 1}})["early_grace_s"].level is Level.DEFAULT


def test_values_outside_the_hard_limits_are_refused_with_the_limits() -> None:
    with pytest.raises(OutsideBounds) as err:
        check_values({"deposit_pct": 120}, Level.CHAIN, {})
    assert (err.value.code, err.value.field) == ("outside_bounds", "values.deposit_pct")
    assert err.value.extra == {"min": 0, "max": 100}
    with pytest.raises(Invalid) as err2:
        check_values({"hold_min": "15"}, Level.CHAIN, {})
    assert err2.value.code == "invalid_setting"
    with pytest.raises(Invalid) as err3:
        check_values({"nap_min": 5}, Level.STORE, {})
    assert (err3.value.code, err3.value.field) == ("unknown_setting", "values.nap_min")


def test_a_lower_level_outside_hq_bounds_is_refused_naming_the_field_and_bounds() -> None:
    bounds = check_bounds({"cleaning_gap_min": {"min": 15, "max": 60}, "deposit_pct": {"min": 30}})
    assert check_values({"cleaning_gap_min": 15}, Level.STORE, bounds) == {"cleaning_gap_min": 15}
    with pytest.raises(OutsideBounds) as err:
        check_values({"cleaning_gap_min": 10}, Level.STORE, bounds)
    assert err.value.field == "values.cleaning_gap_min" and err.value.extra == {"min": 15, "max": 60}
    with pytest.raises(OutsideBounds) as err:
        check_values({"deposit_pct": 20}, Level.ROOM_TYPE, bounds)
    assert err.value.extra == {"min": 30, "max": 100}


def test_a_locked_setting_is_hq_s_alone() -> None:
    bounds = check_bounds({"cancellation_tiers": {"locked": True}})
    tiers = [{"min_before_min": 60, "refund_pct": 100}]
    assert check_values({"cancellation_tiers": tiers}, Level.CHAIN, bounds)
    with pytest.raises(SettingLocked) as err:
        check_values({"cancellation_tiers": tiers}, Level.STORE, bounds)
    assert (err.value.code, err.value.field) == ("setting_locked", "values.cancellation_tiers")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"nope": {"min": 1}}, "bounds.nope"),
        ({"hold_min": {"min": 30, "max": 10}}, "bounds.hold_min"),
        ({"hold_min": {"min": 0}}, "bounds.hold_min.min"),
        ({"hold_min": {"ceiling": 3}}, "bounds.hold_min"),
        ({"cancellation_tiers": {"min": 1}}, "bounds.cancellation_tiers"),
    ],
)
def test_malformed_bounds_are_refused(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as err:
        check_bounds(raw)
    assert err.value.field == field


def test_new_bounds_report_every_lower_value_they_would_exclude() -> None:
    overrides = {
        (Level.STORE, "s-1"): {"cleaning_gap_min": 10, "hold_min": 15},
        (Level.ROOM_TYPE, "ktv"): {"cleaning_gap_min": 40, "cancellation_tiers": []},
        (Level.CHAIN, ""): {"cleaning_gap_min": 90},
    }
    bounds = {"cleaning_gap_min": Bound(min=15, max=60), "cancellation_tiers": Bound(locked=True)}
    found = bound_violations(overrides, bounds)
    assert found == [
        {"level": "chain", "scope": "", "key": "cleaning_gap_min", "value": 90},
        {"level": "room_type", "scope": "ktv", "key": "cancellation_tiers", "value": []},
        {"level": "store", "scope": "s-1", "key": "cleaning_gap_min", "value": 10},
    ]


def test_cancellation_tiers_are_sorted_and_must_refund_less_as_the_notice_shrinks() -> None:
    tiers = parse_tiers(
        [{"min_before_min": 30, "refund_pct": 50}, {"min_before_min": 120, "refund_pct": 100}], "t"
    )
    assert tiers == (CancellationTier(120, 100), CancellationTier(30, 50))
    with pytest.raises(Invalid):
        parse_tiers(
            [{"min_before_min": 120, "refund_pct": 50}, {"min_before_min": 30, "refund_pct": 80}], "t"
        )
    with pytest.raises(Invalid):
        parse_tiers([{"min_before_min": 30, "refund_pct": 50}, {"min_before_min": 30, "refund_pct": 20}], "t")
    assert parse_tiers([], "t") == ()  # no refunds at all is a valid policy


def test_every_setting_has_a_default_inside_its_limits() -> None:
    for spec in SPECS.values():
        if isinstance(spec.default, int):
            assert spec.lo <= spec.default <= spec.hi, spec.key
