"""The planner: creates, updates, no-ops, replaces and prunes, computed from data alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from provisioning.manifest.diff import Op, Plan, Target, plan_store
from provisioning.manifest.model import ManifestInvalid, StoreManifest, parse_manifest
from provisioning.state import CloudState, DeviceState, RegionState, RoomState, StoreState

PLAN = {
    "weekday": [
        {"from": "00:00", "to": "12:00", "per_hour": 3000},
        {"from": "12:00", "to": "24:00", "per_hour": 4000},
    ],
    "off_peak": [{"from": "02:00", "to": "06:00", "pct": 30}],
}
# The same plan as the cloud stores it: holiday bands filled in, window days explicit.
CLOUD_PLAN = {
    "weekday": PLAN["weekday"],
    "holiday": PLAN["weekday"],
    "peak": [],
    "off_peak": [{"from": "02:00", "to": "06:00", "pct": 30, "days": ["holiday", "weekday"]}],
}
MODBUS = {"host": "10.0.0.5", "port": "502", "unit": "1", "channels": "2"}


def manifest_data() -> dict[str, Any]:
    return {
        "region": "East",
        "store": {"name": "Store One", "timezone": "Asia/Shanghai", "city": "Shanghai"},
        "price_plans": {"standard": copy.deepcopy(PLAN)},
        "rooms": [
            {
                "name": "Mahjong 1",
                "kind": "mahjong",
                "capacity_min": 2,
                "capacity_max": 4,
                "price_plan": "standard",
                "devices": [
                    {"kind": "lock", "protocol": "mqtt"},
                    {"kind": "power", "protocol": "modbus", "config": dict(MODBUS)},
                ],
            },
            {"name": "KTV 1", "kind": "ktv"},
        ],
        "devices": [{"id": "entrance-1", "kind": "scanner", "protocol": "mqtt"}],
    }


def manifest(data: dict[str, Any] | None = None) -> StoreManifest:
    return parse_manifest(yaml.safe_dump(data or manifest_data()))


def matching_state() -> CloudState:
    """The cloud as it is after the manifest was applied."""
    return CloudState(
        regions=(RegionState("r-1", "East"),),
        store=StoreState(
            "s-1", "r-1", "Store One", {"timezone": "Asia/Shanghai", "city": "Shanghai", "area": ""}
        ),
        rooms=(
            RoomState(
                "rm-1",
                "Mahjong 1",
                "mahjong",
                {
                    "room_type": "mahjong",
                    "capacity_min": 2,
                    "capacity_max": 4,
                    "facilities": [],
                    "price_plan": CLOUD_PLAN,
                },
            ),
            RoomState("rm-2", "KTV 1", "ktv", {"room_type": "ktv", "capacity_min": 1, "price_plan": None}),
        ),
        devices=(
            DeviceState("rm-1-lock", "lock", "mqtt", "rm-1"),
            DeviceState("rm-1-power", "power", "modbus", "rm-1", dict(MODBUS)),
            DeviceState("entrance-1", "scanner", "mqtt", None),
        ),
    )


def ops(plan: Plan) -> list[tuple[str, str, str]]:
    return [(a.op.value, a.target.value, a.label) for a in plan.actions]


def test_an_empty_tenant_gets_region_store_rooms_then_devices_in_that_order() -> None:
    plan = plan_store(manifest(), CloudState())
    assert ops(plan) == [
        ("create", "region", "East"),
        ("create", "store", "Store One"),
        ("create", "room", "Mahjong 1"),
        ("create", "room", "KTV 1"),
        ("create", "device", "Mahjong 1 / lock"),
        ("create", "device", "Mahjong 1 / power"),
        ("create", "device", "store / entrance-1"),
    ]
    store = plan.actions[1]
    assert store.body == {"name": "Store One", "timezone": "Asia/Shanghai", "city": "Shanghai"}
    room = plan.actions[2]
    assert room.body["price_plan"] == CLOUD_PLAN and room.body["kind"] == "mahjong"
    lock = plan.actions[4]
    assert (lock.id, lock.room, lock.device_name) == (
        None,
        "Mahjong 1",
        "lock",
    )  # id derived once the room exists
    assert plan.actions[6].id == "entrance-1"
    assert plan.summary() == "7 to create"


def test_an_existing_region_is_reused() -> None:
    plan = plan_store(manifest(), CloudState(regions=(RegionState("r-1", "East"),)))
    assert ops(plan)[0] == ("create", "store", "Store One")
    assert plan.region_id == "r-1"


def test_a_cloud_that_matches_needs_nothing_even_when_its_formats_differ() -> None:
    plan = plan_store(manifest(), matching_state())
    assert plan.empty and plan.summary() == "no changes"
    assert not plan.unmanaged and not plan.conflicts
    assert plan.room_ids == {"Mahjong 1": "rm-1", "KTV 1": "rm-2"}


def test_changed_fields_become_updates_carrying_only_what_changed() -> None:
    data = manifest_data()
    data["store"]["city"] = "Hangzhou"
    data["rooms"][0]["capacity_max"] = 6
    data["rooms"][1]["price_plan"] = "standard"
    plan = plan_store(manifest(data), matching_state())
    assert ops(plan) == [
        ("update", "store", "Store One"),
        ("update", "room", "Mahjong 1"),
        ("update", "room", "KTV 1"),
    ]
    store, mahjong, ktv = plan.actions
    assert store.body == {"city": "Hangzhou"} and store.id == "s-1"
    assert [(c.field, c.before, c.after) for c in mahjong.changes] == [("capacity_max", 4, 6)]
    assert ktv.body == {"price_plan": CLOUD_PLAN}


def test_null_clears_a_field_and_an_absent_field_is_left_alone() -> None:
    data = manifest_data()
    data["rooms"][0]["price_plan"] = None
    del data["rooms"][0]["capacity_max"]
    plan = plan_store(manifest(data), matching_state())
    (action,) = plan.actions
    assert action.body == {"price_plan": None}


def test_a_changed_device_config_is_updated_in_place_with_only_what_changed() -> None:
    data = manifest_data()
    data["rooms"][0]["devices"][1]["config"]["port"] = 1502
    plan = plan_store(manifest(data), matching_state())
    (action,) = plan.actions
    assert (action.op, action.target, action.id) == (Op.UPDATE, Target.DEVICE, "rm-1-power")
    assert [c.field for c in action.changes] == ["config"]
    assert set(action.body) == {"config"} and action.body["config"]["port"] == "1502"


def test_a_device_with_an_explicit_id_moved_to_a_room_is_updated_in_place() -> None:
    data = manifest_data()
    data["devices"] = []
    data["rooms"][1]["devices"] = [{"id": "entrance-1", "kind": "scanner", "protocol": "mqtt"}]
    plan = plan_store(manifest(data), matching_state())
    (action,) = plan.actions
    assert action.op is Op.UPDATE and action.room == "KTV 1" and action.id == "entrance-1"
    assert [(c.field, c.before, c.after) for c in action.changes] == [("room", "store", "KTV 1")]
    assert set(action.body) == {"room_id"}


def test_what_the_manifest_leaves_out_is_kept_and_listed_without_prune() -> None:
    data = manifest_data()
    del data["rooms"][1]
    data["rooms"][0]["devices"].pop()
    plan = plan_store(manifest(data), matching_state())
    assert plan.empty
    assert plan.unmanaged == ("room KTV 1", "device Mahjong 1 / power")


def test_prune_deletes_devices_first_and_rooms_last_with_their_devices() -> None:
    state = matching_state()
    state = CloudState(
        regions=state.regions,
        store=state.store,
        rooms=state.rooms,
        devices=(*state.devices, DeviceState("rm-2-lock", "lock", "mqtt", "rm-2")),
    )
    data = manifest_data()
    del data["rooms"][1]
    data["rooms"][0]["devices"].pop()
    data["rooms"][0]["devices"].append({"name": "door2", "kind": "lock", "protocol": "mqtt"})
    plan = plan_store(manifest(data), state, prune=True)
    assert ops(plan) == [
        ("delete", "device", "Mahjong 1 / power"),
        ("create", "device", "Mahjong 1 / door2"),
        ("delete", "room", "KTV 1"),
    ]
    assert plan.actions[0].id == "rm-1-power"
    assert plan.actions[1].id == "rm-1-door2"
    assert plan.actions[2].note == "with its 1 device(s)"  # rm-2-lock goes with its room
    assert plan.unmanaged == ()


def test_devices_the_manifest_did_not_make_are_listed_by_their_cloud_id() -> None:
    state = matching_state()
    state = CloudState(
        regions=state.regions,
        store=state.store,
        rooms=state.rooms,
        devices=(*state.devices, DeviceState("d-k3j5q2xa", "scanner", "mqtt", "rm-2")),
    )
    plan = plan_store(manifest(), state)
    assert plan.unmanaged == ("device KTV 1 / d-k3j5q2xa",)


def test_booking_settings_are_put_whole_when_they_differ() -> None:
    data = manifest_data()
    data["store"]["booking_settings"] = {"cleaning_gap_min": 20}
    base = matching_state()
    state = CloudState(
        regions=base.regions,
        store=base.store,
        rooms=base.rooms,
        devices=base.devices,
        booking_settings={"cleaning_gap_min": 30, "hold_min": 10},
        setting_keys=frozenset({"cleaning_gap_min", "hold_min"}),
    )
    plan = plan_store(manifest(data), state)
    (action,) = plan.actions
    assert (action.op, action.target, action.body) == (
        Op.UPDATE,
        Target.SETTINGS,
        {"values": {"cleaning_gap_min": 20}},
    )
    assert [(c.field, c.before, c.after) for c in action.changes] == [
        ("cleaning_gap_min", 30, 20),
        ("hold_min", 10, None),
    ]
    same = CloudState(
        regions=base.regions,
        store=base.store,
        rooms=base.rooms,
        devices=base.devices,
        booking_settings={"cleaning_gap_min": 20},
    )
    assert plan_store(manifest(data), same).empty


def test_a_setting_the_cloud_does_not_know_is_a_conflict() -> None:
    data = manifest_data()
    data["store"]["booking_settings"] = {"nap_min": 20}
    state = CloudState(setting_keys=frozenset({"cleaning_gap_min"}))
    plan = plan_store(manifest(data), state)
    assert plan.conflicts == (
        "store.booking_settings.nap_min: the cloud has no such setting (it knows: cleaning_gap_min)",
    )


def test_a_store_in_another_region_is_a_conflict() -> None:
    base = matching_state()
    state = CloudState(regions=(RegionState("r-1", "East"), RegionState("r-2", "West")), store=base.store)
    data = manifest_data()
    data["region"] = "West"
    assert "cannot move a store between regions" in plan_store(manifest(data), state).conflicts[0]
    data["region"] = "North"
    assert "cannot move a store between regions" in plan_store(manifest(data), state).conflicts[0]


def test_a_room_whose_kind_changed_is_a_conflict() -> None:
    data = manifest_data()
    data["rooms"][1]["kind"] = "tea"
    plan = plan_store(manifest(data), matching_state())
    assert plan.conflicts == (
        "rooms[1].kind: room 'KTV 1' is a 'ktv' in the cloud; the API cannot change a room's kind"
        " (give the new room another name)",
    )


def test_explicit_ids_allow_renames_and_unknown_ids_are_conflicts() -> None:
    data = manifest_data()
    data["store"]["id"] = "s-1"
    data["store"]["name"] = "Store 1"
    data["rooms"][1]["id"] = "rm-2"
    data["rooms"][1]["name"] = "KTV Grand"
    plan = plan_store(manifest(data), matching_state())
    assert ops(plan) == [("update", "store", "Store 1"), ("update", "room", "KTV Grand")]
    assert plan.actions[1].body == {"name": "KTV Grand"}
    data["rooms"][1]["id"] = "rm-9"
    assert plan_store(manifest(data), matching_state()).conflicts == (
        "rooms[1].id: the store has no room 'rm-9'",
    )
    data["store"]["id"] = "s-9"
    assert "store.id: the tenant has no store 's-9'" in plan_store(manifest(data), CloudState()).conflicts


def test_zones_of_rooms_and_store_wide_devices_are_planned_and_left_alone_when_absent() -> None:
    data = manifest_data()
    data["rooms"][1]["zone"] = "Floor 2"
    data["devices"][0]["zone"] = "east"
    plan = plan_store(manifest(data), matching_state())
    assert [(a.op, a.target, a.label, dict(a.body)) for a in plan.actions] == [
        (Op.UPDATE, Target.ROOM, "KTV 1", {"zone": "Floor 2"}),
        (Op.UPDATE, Target.DEVICE, "store / entrance-1", {"zone": "east"}),
    ]
    # Without a zone in the manifest, the cloud's zones are not the manifest's business.
    state = matching_state()
    zoned = CloudState(
        regions=state.regions,
        store=state.store,
        rooms=state.rooms,
        devices=(*state.devices[:2], DeviceState("entrance-1", "scanner", "mqtt", None, zone="east")),
    )
    assert plan_store(manifest(), zoned).empty


def test_a_zone_on_a_rooms_device_or_a_malformed_zone_is_a_manifest_problem() -> None:
    data = manifest_data()
    data["rooms"][0]["devices"][0]["zone"] = "east"
    data["rooms"][1]["zone"] = "<floor>"
    with pytest.raises(ManifestInvalid) as caught:
        manifest(data)
    text = str(caught.value)
    assert "rooms[0].devices[0].zone" in text and "room's zone" in text
    assert "rooms[1].zone" in text
