"""The store manifest's validation: every rule gives a clear error naming its path (and line)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning.manifest.model import ManifestInvalid, Problem, StoreManifest, parse_manifest

EXAMPLE = Path(__file__).parents[3] / "provisioning" / "examples" / "store.yaml"

PLAN = {
    "weekday": [
        {"from": "00:00", "to": "12:00", "per_hour": 3000},
        {"from": "12:00", "to": "24:00", "per_hour": 4000},
    ]
}


def base() -> dict[str, Any]:
    """A small valid manifest as data, for tests to spoil."""
    return {
        "region": "East",
        "store": {"name": "Store One"},
        "price_plans": {"standard": copy.deepcopy(PLAN)},
        "rooms": [
            {
                "name": "Mahjong 1",
                "kind": "mahjong",
                "price_plan": "standard",
                "devices": [
                    {"kind": "lock", "protocol": "mqtt"},
                    {
                        "kind": "power",
                        "protocol": "modbus",
                        "config": {"host": "10.0.0.5", "port": 502, "unit": 1, "channels": 2},
                    },
                ],
            },
            {"name": "KTV 1", "kind": "ktv"},
        ],
        "devices": [
            {
                "name": "entrance",
                "kind": "scanner",
                "protocol": "tcp",
                "config": {"host": "10.0.0.9", "port": 9000},
            }
        ],
    }


def parse(data: Any) -> StoreManifest:
    return parse_manifest(yaml.safe_dump(data, sort_keys=False), "m.yaml")


def problems_of(data: Any) -> list[str]:
    """The problems of a manifest as `path: message` lines."""
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(text, "m.yaml")
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def assert_problem(data: Any, path: str, fragment: str) -> None:
    found = problems_of(data)
    assert any(p.startswith(f"{path}: ") and fragment in p for p in found), found


# ---------------------------------------------------------------- valid manifests


def test_the_example_manifest_is_valid_and_has_six_rooms() -> None:
    manifest = parse_manifest(EXAMPLE.read_text(), str(EXAMPLE))
    assert manifest.region == "Demo Region"
    assert len(manifest.rooms) == 6
    assert {d.kind for d in manifest.all_devices()} >= {
        "lock",
        "power",
        "scanner",
        "gate",
        "printer",
        "sensor",
    }


def test_a_device_without_a_name_is_named_after_its_kind_and_its_config_becomes_strings() -> None:
    manifest = parse(base())
    lock, power = manifest.rooms[0].devices
    assert (lock.name, lock.room) == ("lock", "Mahjong 1")
    assert power.config == {"host": "10.0.0.5", "port": "502", "unit": "1", "channels": "2"}
    assert manifest.devices[0].room is None


def test_fields_left_out_are_not_managed_and_given_ones_are() -> None:
    data = base()
    data["store"].update(city=" Shanghai ", opening_hours=None)
    data["rooms"][1].update(capacity_max=None, facilities=["stage", " stage", "bar"])
    manifest = parse(data)
    assert manifest.store.fields == {"city": "Shanghai", "opening_hours": None}
    assert manifest.store.booking_settings is None
    assert manifest.rooms[1].fields == {"capacity_max": None, "facilities": ["stage", "bar"]}
    assert "price_plan" not in manifest.rooms[1].fields


def test_a_plan_reference_resolves_to_the_plan_in_the_clouds_canonical_form() -> None:
    manifest = parse(base())
    plan = manifest.rooms[0].fields["price_plan"]
    assert plan["holiday"] == plan["weekday"]  # holiday bands default to the weekday ones
    assert plan["peak"] == [] and plan["off_peak"] == []


def test_unquoted_yaml_times_and_dates_are_read_as_written() -> None:
    text = """
region: East
store:
  name: S
  closed_dates: [2027-02-06]
rooms:
  - name: R
    kind: tea
    price_plan:
      weekday:
        - {from: 00:00, to: 10:30, per_hour: 1}
        - {from: 10:30, to: 24:00, per_hour: 2}
      off_peak: [{from: 2:00, to: 6:00, pct: 10, days: [weekday]}]
"""
    manifest = parse_manifest(text)
    plan = manifest.rooms[0].fields["price_plan"]
    assert [b["from"] for b in plan["weekday"]] == ["00:00", "10:30"]
    assert plan["off_peak"] == [{"from": "02:00", "to": "06:00", "pct": 10, "days": ["weekday"]}]
    assert manifest.store.fields["closed_dates"] == ["2027-02-06"]


def test_opening_hours_are_made_canonical_for_every_weekday() -> None:
    data = base()
    data["store"]["opening_hours"] = {"fri": ["17:00 - 02:00", "10:00-14:00"]}
    hours = parse(data).store.fields["opening_hours"]
    assert hours["fri"] == ["10:00-14:00", "17:00-02:00"]
    assert hours["mon"] == []


def test_booking_settings_tiers_are_kept_longest_notice_first() -> None:
    data = base()
    data["store"]["booking_settings"] = {
        "cleaning_gap_min": 20,
        "cancellation_tiers": [
            {"min_before_min": 30, "refund_pct": 50},
            {"min_before_min": 120, "refund_pct": 100},
        ],
    }
    settings = parse(data).store.booking_settings
    assert settings is not None
    assert [t["min_before_min"] for t in settings["cancellation_tiers"]] == [120, 30]


# ---------------------------------------------------------------- file-level problems


def test_invalid_yaml_is_reported_with_its_line() -> None:
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest("region: East\nstore: [unclosed\n", "m.yaml")
    problem = caught.value.problems[0]
    assert "not valid YAML" in problem.message and problem.line >= 2


def test_a_manifest_that_is_not_a_mapping_is_refused() -> None:
    assert_problem("- just\n- a list\n", "", "a manifest is a mapping")


def test_a_key_given_twice_is_an_error_not_a_silent_override() -> None:
    text = "region: East\nstore: {name: S}\nrooms: []\nrooms: []\n"
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(text, "m.yaml")
    assert [(p.path, p.line) for p in caught.value.problems] == [("rooms", 4)]
    assert "given twice" in caught.value.problems[0].message


def test_missing_required_fields_are_named() -> None:
    data = base()
    del data["region"]
    del data["rooms"][0]["kind"]
    found = problems_of(data)
    assert "region: required" in found
    assert "rooms[0].kind: required" in found


def test_an_unknown_version_is_refused() -> None:
    data = base()
    data["version"] = 2
    assert_problem(data, "version", "must be one of")


@pytest.mark.parametrize(
    ("where", "path", "known"),
    [
        (lambda d: d.update(owner="me"), "owner", "region, store"),
        (lambda d: d["store"].update(phone="123"), "store.phone", "timezone"),
        (lambda d: d["rooms"][1].update(price=3000), "rooms[1].price", "price_plan"),
        (lambda d: d["rooms"][0]["devices"][0].update(model="X1"), "rooms[0].devices[0].model", "protocol"),
        (
            lambda d: d["price_plans"]["standard"]["weekday"][0].update(price=1),
            "price_plans.standard.weekday[0].price",
            "per_hour",
        ),
    ],
)
def test_fields_unknown_to_the_api_are_errors_that_list_the_known_ones(
    where: Any, path: str, known: str
) -> None:
    data = base()
    where(data)
    found = problems_of(data)
    assert any(p.startswith(f"{path}: unknown field") and known in p for p in found), found


def test_an_inline_plan_with_an_unknown_field_is_reported_under_the_room() -> None:
    data = base()
    data["rooms"][1]["price_plan"] = {"weekday": PLAN["weekday"], "weekend": PLAN["weekday"]}
    assert_problem(data, "rooms[1].price_plan.weekend", "unknown field")


def test_wrong_types_are_named_and_strings_are_not_taken_for_numbers() -> None:
    data = base()
    data["rooms"][1]["capacity_min"] = "4"
    data["rooms"][1]["facilities"] = "bar"
    data["store"]["name"] = 7
    found = problems_of(data)
    assert "rooms[1].capacity_min: must be a whole number" in found
    assert "rooms[1].facilities: must be a list" in found
    assert "store.name: must be a string" in found


def test_problems_carry_their_line_and_render_as_source_line_path_message() -> None:
    text = EXAMPLE.read_text().replace(
        "host: 192.168.10.21, port: 502,", "host: 192.168.10.21, port: 70000,", 1
    )
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(text, "store.yaml")
    (problem,) = caught.value.problems
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "70000" in row)
    assert problem == Problem("rooms[0].devices[1].config.port", "must be 1-65535", line)
    assert (
        problem.render("store.yaml") == f"store.yaml:{line}: rooms[0].devices[1].config.port: must be 1-65535"
    )
    assert "1 problem(s)" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    data = base()
    data["store"]["timezone"] = "Mars/Olympus"
    data["rooms"][0]["devices"][1]["config"]["port"] = 0
    data["rooms"][1]["kind"] = "KTV"
    assert len(problems_of(data)) == 3


# ---------------------------------------------------------------- store rules


def test_names_must_not_be_blank_or_too_long() -> None:
    data = base()
    data["region"] = "  "
    data["store"]["name"] = "x" * 201
    data["rooms"][0]["name"] = ""
    found = problems_of(data)
    assert "region: must be 1-200 characters" in found
    assert "store.name: must be 1-200 characters" in found
    assert "rooms[0].name: must be 1-200 characters" in found


def test_an_unknown_time_zone_is_refused() -> None:
    data = base()
    data["store"]["timezone"] = "Asia/Beijing"
    assert_problem(data, "store.timezone", "unknown time zone 'Asia/Beijing'")


def test_city_and_area_are_at_most_100_characters() -> None:
    data = base()
    data["store"]["area"] = "a" * 101
    assert_problem(data, "store.area", "at most 100 characters")


def test_opening_hours_need_known_weekdays() -> None:
    data = base()
    data["store"]["opening_hours"] = {"monday": ["10:00-22:00"]}
    assert_problem(data, "store.opening_hours.monday", "unknown weekday")


@pytest.mark.parametrize("interval", ["10:00", "10:00-25:00", "24:00-02:00", "10:60-12:00", "ten-eleven"])
def test_opening_hours_intervals_must_be_times_of_day(interval: str) -> None:
    data = base()
    data["store"]["opening_hours"] = {"mon": [interval]}
    assert_problem(data, "store.opening_hours.mon[0]", "opening hours are like")


def test_opening_intervals_of_a_day_may_not_overlap() -> None:
    data = base()
    data["store"]["opening_hours"] = {"sat": ["10:00-14:00", "13:00-02:00"]}
    assert_problem(data, "store.opening_hours.sat", "overlap")


def test_closed_dates_must_be_iso_dates() -> None:
    data = base()
    data["store"]["closed_dates"] = ["2027-02-30"]
    assert_problem(data, "store.closed_dates[0]", "ISO date")


def test_a_blank_store_or_room_id_is_refused() -> None:
    data = base()
    data["store"]["id"] = " "
    data["rooms"][0]["id"] = ""
    found = problems_of(data)
    assert "store.id: must not be empty" in found
    assert "rooms[0].id: must not be empty" in found


def test_booking_settings_names_and_values_are_checked() -> None:
    data = base()
    data["store"]["booking_settings"] = {"Cleaning Gap": 1, "hold_min": True, "step_min": -5}
    found = problems_of(data)
    assert "store.booking_settings.Cleaning Gap: unknown setting name" in found
    assert any(p.startswith("store.booking_settings.hold_min: must be a whole number") for p in found)
    assert any(p.startswith("store.booking_settings.step_min: must be a whole number") for p in found)


def test_cancellation_tiers_are_checked_one_by_one() -> None:
    data = base()
    data["store"]["booking_settings"] = {
        "cancellation_tiers": [{"min_before_min": 60}, {"min_before_min": -1, "refund_pct": 101}]
    }
    found = problems_of(data)
    assert any(p.startswith("store.booking_settings.cancellation_tiers[0]: a tier is") for p in found)
    assert any(
        p.startswith("store.booking_settings.cancellation_tiers[1].min_before_min: must be 0-") for p in found
    )
    assert "store.booking_settings.cancellation_tiers[1].refund_pct: must be 0-100" in found


# ---------------------------------------------------------------- price plans


def test_a_room_must_refer_to_a_defined_plan() -> None:
    data = base()
    data["rooms"][1]["price_plan"] = "vip"
    assert_problem(data, "rooms[1].price_plan", "no price plan 'vip' in price_plans (known: standard)")


def test_a_price_plan_is_a_name_a_mapping_or_null() -> None:
    data = base()
    data["rooms"][1]["price_plan"] = 3000
    assert_problem(data, "rooms[1].price_plan", "must be the name of a plan")


def test_a_plan_name_must_be_simple() -> None:
    data = base()
    data["price_plans"]["bad/name"] = copy.deepcopy(PLAN)
    assert_problem(data, "price_plans.bad/name", "a plan name is")


def test_bands_must_cover_the_whole_day_without_gaps() -> None:
    data = base()
    data["price_plans"]["standard"]["weekday"][1]["from"] = "13:00"
    assert_problem(data, "price_plans.standard.weekday", "without gaps or overlaps (check 12:00)")


def test_bands_must_reach_midnight() -> None:
    data = base()
    data["price_plans"]["standard"]["weekday"][1]["to"] = "23:00"
    assert_problem(data, "price_plans.standard.weekday", "they end at 23:00")


def test_a_band_must_end_after_it_starts() -> None:
    data = base()
    data["price_plans"]["standard"]["holiday"] = [{"from": "18:00", "to": "06:00", "per_hour": 1}]
    assert_problem(data, "price_plans.standard.holiday[0].to", "must be after 'from'")


def test_a_plan_needs_at_least_one_band() -> None:
    data = base()
    data["price_plans"]["standard"]["holiday"] = []
    assert_problem(data, "price_plans.standard.holiday", "at least one band")


def test_a_band_price_is_bounded() -> None:
    data = base()
    data["price_plans"]["standard"]["weekday"][0]["per_hour"] = -1
    assert_problem(data, "price_plans.standard.weekday[0].per_hour", "must be 0-10000000 (fen)")


def test_a_band_time_must_be_hh_mm() -> None:
    data = base()
    data["price_plans"]["standard"]["weekday"][0]["from"] = "midnight"
    assert_problem(data, "price_plans.standard.weekday[0]", "is not HH:MM")


def test_window_percentages_are_bounded_by_kind() -> None:
    data = base()
    data["price_plans"]["standard"]["peak"] = [{"from": "19:00", "to": "23:00", "pct": 301}]
    data["price_plans"]["standard"]["off_peak"] = [{"from": "02:00", "to": "06:00", "pct": 101}]
    found = problems_of(data)
    assert "price_plans.standard.peak[0].pct: must be 0-300" in found
    assert "price_plans.standard.off_peak[0].pct: must be 0-100" in found


def test_peak_and_off_peak_windows_may_not_overlap_on_a_day_type() -> None:
    data = base()
    data["price_plans"]["standard"]["peak"] = [{"from": "19:00", "to": "23:00", "pct": 10}]
    data["price_plans"]["standard"]["off_peak"] = [
        {"from": "22:00", "to": "24:00", "pct": 10, "days": ["weekday"]}
    ]
    assert_problem(data, "price_plans.standard", "overlap on weekdays at 22:00")


def test_a_window_must_not_cross_midnight_or_name_no_days() -> None:
    data = base()
    data["price_plans"]["standard"]["peak"] = [
        {"from": "23:00", "to": "01:00", "pct": 10},
        {"from": "12:00", "to": "13:00", "pct": 10, "days": []},
    ]
    found = problems_of(data)
    assert any(p.startswith("price_plans.standard.peak[0].to: must be after 'from'") for p in found)
    assert any(p.startswith("price_plans.standard.peak[1].days: must list") for p in found)


def test_a_window_with_a_bad_time_is_named() -> None:
    data = base()
    data["price_plans"]["standard"]["off_peak"] = [{"from": "2am", "to": "06:00", "pct": 10}]
    assert_problem(data, "price_plans.standard.off_peak[0]", "is not HH:MM")


def test_window_days_are_weekday_or_holiday() -> None:
    data = base()
    data["price_plans"]["standard"]["peak"] = [
        {"from": "19:00", "to": "23:00", "pct": 10, "days": ["sunday"]}
    ]
    assert_problem(data, "price_plans.standard.peak[0].days[0]", "must be one of")


# ---------------------------------------------------------------- rooms


def test_room_names_are_unique_in_the_manifest() -> None:
    data = base()
    data["rooms"][1]["name"] = "Mahjong 1"
    assert_problem(data, "rooms[1].name", "room 'Mahjong 1' is already rooms[0]")


def test_room_ids_are_unique_in_the_manifest() -> None:
    data = base()
    data["rooms"][0]["id"] = data["rooms"][1]["id"] = "rm-1"
    assert_problem(data, "rooms[1].id", "room id 'rm-1' is already rooms[0]")


def test_room_kind_and_type_are_lower_case_slugs() -> None:
    data = base()
    data["rooms"][0]["kind"] = "Mah Jong"
    data["rooms"][1]["room_type"] = "KTV-Big"
    found = problems_of(data)
    assert any(p.startswith("rooms[0].kind: must be a lower-case slug") for p in found)
    assert any(p.startswith("rooms[1].room_type: must be a lower-case slug") for p in found)


def test_capacity_is_bounded_and_max_is_at_least_min() -> None:
    data = base()
    data["rooms"][0].update(capacity_min=0)
    data["rooms"][1].update(capacity_min=6, capacity_max=4)
    found = problems_of(data)
    assert "rooms[0].capacity_min: must be 1-1000" in found
    assert "rooms[1].capacity_max: must be 6-1000 (at least capacity_min)" in found


def test_facilities_must_be_short_non_blank_and_few() -> None:
    data = base()
    data["rooms"][0]["facilities"] = [" ", "x" * 61]
    data["rooms"][1]["facilities"] = [f"tag {i}" for i in range(41)]
    found = problems_of(data)
    assert "rooms[0].facilities[0]: must be 1-60 characters" in found
    assert "rooms[0].facilities[1]: must be 1-60 characters" in found
    assert "rooms[1].facilities: at most 40 facilities" in found


# ---------------------------------------------------------------- devices


def test_an_unknown_device_kind_lists_the_known_ones() -> None:
    data = base()
    data["rooms"][1]["devices"] = [{"kind": "fridge", "protocol": "mqtt"}]
    assert_problem(data, "rooms[1].devices[0].kind", "unknown device kind 'fridge' (known: gate, lock")


def test_a_protocol_the_kind_does_not_speak_is_named() -> None:
    data = base()
    data["rooms"][1]["devices"] = [{"kind": "printer", "protocol": "mqtt"}]
    assert_problem(data, "rooms[1].devices[0].protocol", "a printer cannot speak 'mqtt' (it speaks: escpos)")


def test_required_config_keys_are_named_with_what_they_mean() -> None:
    data = base()
    data["rooms"][1]["devices"] = [{"kind": "power", "protocol": "modbus", "config": {"host": "10.0.0.1"}}]
    found = problems_of(data)
    for key in ("port", "unit", "channels"):
        assert any(
            p.startswith(f"rooms[1].devices[0].config.{key}: required for power/modbus") for p in found
        )


def test_a_config_key_the_device_does_not_take_is_refused() -> None:
    data = base()
    data["rooms"][1]["devices"] = [{"kind": "lock", "protocol": "mqtt", "config": {"host": "x"}}]
    assert_problem(
        data, "rooms[1].devices[0].config.host", "unknown config key for lock/mqtt (it takes: heartbeat_s)"
    )


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ({"port": 65536}, "port", "must be 1-65535"),
        ({"port": "http"}, "port", "must be 1-65535"),
        ({"unit": 256}, "unit", "must be 0-255"),
        ({"channels": 0}, "channels", "must be 1-64"),
        ({"host": "bad host!"}, "host", "must be a host name or an IP address"),
        ({"host": True}, "host", "must be a string or a whole number"),
    ],
)
def test_config_values_are_checked_per_key(config: dict[str, Any], key: str, message: str) -> None:
    data = base()
    data["rooms"][0]["devices"][1]["config"].update(config)
    assert_problem(data, f"rooms[0].devices[1].config.{key}", message)


def test_a_ble_lock_needs_a_bluetooth_address() -> None:
    data = base()
    data["rooms"][1]["devices"] = [{"kind": "lock", "protocol": "ble", "config": {"address": "C4-7C"}}]
    assert_problem(data, "rooms[1].devices[0].config.address", "Bluetooth address")


def test_device_names_and_ids_have_safe_shapes() -> None:
    data = base()
    data["rooms"][1]["devices"] = [
        {"name": "Front Door", "kind": "lock", "protocol": "mqtt"},
        {"id": "lock/1", "kind": "lock", "protocol": "mqtt"},
    ]
    found = problems_of(data)
    assert any(p.startswith("rooms[1].devices[0].name: must be a lower-case slug") for p in found)
    assert any(p.startswith("rooms[1].devices[1].id: must be 1-64 characters") for p in found)


def test_two_unnamed_devices_of_one_kind_in_a_room_must_be_named() -> None:
    data = base()
    data["rooms"][0]["devices"].append({"kind": "lock", "protocol": "mqtt"})
    assert_problem(data, "rooms[0].devices[2]", "a second device named 'lock' in room 'Mahjong 1'")


def test_the_same_name_in_two_rooms_is_fine_but_explicit_ids_are_unique_everywhere() -> None:
    data = base()
    data["rooms"][1]["devices"] = [{"kind": "lock", "protocol": "mqtt"}]
    parse(data)
    data["rooms"][1]["devices"] = [{"id": "gate-1", "kind": "gate", "protocol": "mqtt"}]
    data["devices"].append({"id": "gate-1", "kind": "gate", "protocol": "mqtt"})
    assert_problem(data, "devices[1].id", "device id 'gate-1' is already used by rooms[1].devices[0]")


def test_one_bad_part_does_not_hide_the_problems_of_the_others() -> None:
    data = base()
    data["rooms"][0]["colour"] = "red"
    data["rooms"][1]["devices"] = [
        {"kind": "lock", "protocol": "mqtt", "firmware": "2"},
        {"kind": "printer", "protocol": "escpos"},
    ]
    data["price_plans"]["standard"]["weekday"][0]["price"] = 1  # rooms[0] refers to it: no second error there
    found = problems_of(data)
    assert [p.split(":")[0] for p in found] == [
        "price_plans.standard.weekday[0].price",
        "rooms[0].colour",
        "rooms[1].devices[0].firmware",
        "rooms[1].devices[1].config.host",
        "rooms[1].devices[1].config.port",
    ]


def test_parts_of_the_wrong_type_are_named() -> None:
    data = base()
    data["rooms"] = {"Mahjong 1": {}}
    data["store"] = "Store One"
    found = problems_of(data)
    assert "rooms: must be a list" in found
    assert "store: must be a mapping" in found
