"""Applying manifests to a real cloud through its HTTP API: idempotent, diff-first, prune only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioning.errors import ApiError
from provisioning.manifest.apply import ApplyFailed, PlanBlocked, execute_plan, plan_manifest
from provisioning.manifest.diff import Action, Op, Target
from provisioning.manifest.model import StoreManifest, parse_manifest
from tests.integration.provisioning.conftest import DemoCloud

EXAMPLE = Path(__file__).parents[3] / "provisioning" / "examples" / "store.yaml"


def example(replace: tuple[str, str] | None = None) -> StoreManifest:
    text = EXAMPLE.read_text()
    if replace is not None:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    return parse_manifest(text, str(EXAMPLE))


async def test_the_example_applies_to_the_demo_cloud_and_a_second_apply_changes_nothing(
    demo_cloud: DemoCloud,
) -> None:
    api = demo_cloud.api
    manifest = example()
    plan = await plan_manifest(api, manifest)
    assert plan.conflicts == () and plan.region_id == demo_cloud.seed.region_id  # "Demo Region" is reused
    counts = {(a.op, a.target) for a in plan.actions}
    assert (Op.CREATE, Target.REGION) not in counts
    assert sum(1 for a in plan.actions if a.target is Target.ROOM) == 6
    steps: list[tuple[int, int]] = []
    applied = await execute_plan(api, plan, on_step=lambda done, total, _: steps.append((done, total)))
    assert steps[-1] == (len(plan.actions), len(plan.actions))

    again = await plan_manifest(api, manifest)
    assert again.empty and again.unmanaged == () and again.conflicts == ()

    store = next(s for s in await api.list_stores() if s["name"] == "Demo Store C")
    assert store["id"] == applied.store_id
    assert (store["city"], store["area"], store["opening_hours"]["fri"]) == (
        "Shanghai",
        "Pudong",
        ["10:00-04:00"],
    )
    rooms = {r["name"]: r for r in await api.list_rooms(store["id"])}
    assert set(rooms) == {"Mahjong 1", "Mahjong 2", "Mahjong 3", "KTV 1", "KTV 2", "Tea Room"}
    assert rooms["KTV 1"]["room_type"] == "ktv-large" and rooms["KTV 1"]["capacity_max"] == 12
    assert rooms["Mahjong 1"]["price_plan"]["holiday"][0]["per_hour"] == 5000
    devices = {d["id"]: d for d in await api.list_devices(store["id"])}
    power = devices[f"{rooms['Mahjong 1']['id']}-power"]
    assert power["config"] == {
        "host": "192.168.10.21",
        "port": "502",
        "unit": "1",
        "channels": "2",
        "roles": "light,ac",
    }
    assert devices[f"{store['id']}-receipts"]["room_id"] is None
    assert len(devices) == 6 * 3 + 1 + 4
    assert devices[f"{store['id']}-stair-smoke"]["zone"] == "Floor 2"
    assert (rooms["KTV 1"]["zone"], rooms["Tea Room"]["zone"]) == ("Floor 2", "Floor 1")
    settings = await api.store_settings(store["id"])
    assert settings["values"] == {"early_grace_s": 600, "cleaning_gap_min": 20}


async def test_a_changed_manifest_updates_only_what_changed(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    await execute_plan(api, await plan_manifest(api, example()))
    changed = parse_manifest(
        EXAMPLE.read_text()
        .replace("host: 192.168.10.22, port: 502", "host: 192.168.10.22, port: 1502", 1)
        .replace("capacity_max: 12", "capacity_max: 14", 1)
        .replace("    early_grace_s: 600\n", "    early_grace_s: 300\n", 1)
    )
    plan = await plan_manifest(api, changed)
    assert [(a.op, a.target, a.label) for a in plan.actions] == [
        (Op.UPDATE, Target.SETTINGS, "Demo Store C"),
        (Op.UPDATE, Target.ROOM, "KTV 1"),
        (Op.UPDATE, Target.DEVICE, "Mahjong 2 / power"),
    ]
    store_id = plan.store_id
    assert store_id is not None
    before = {d["id"]: d for d in await api.list_devices(store_id)}
    await execute_plan(api, plan)
    assert (await plan_manifest(api, changed)).empty
    after = {d["id"]: d for d in await api.list_devices(store_id)}
    # Changed in place: the same device (not deleted and created again), with its new port.
    [power_id] = [i for i in after if i.endswith("-power") and after[i]["config"].get("port") == "1502"]
    assert after[power_id]["created_at"] == before[power_id]["created_at"]
    store = next(s for s in await api.list_stores() if s["name"] == "Demo Store C")
    assert store["early_grace_s"] == 300  # the store's grace follows its booking settings


async def test_prune_deletes_what_the_manifest_dropped_and_nothing_without_it(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    await execute_plan(api, await plan_manifest(api, example()))
    text = EXAMPLE.read_text()
    start, end = text.index("  - name: KTV 2\n"), text.index("  - name: Tea Room\n")
    smaller = parse_manifest(
        (text[:start] + text[end:]).replace(
            "      - {name: smoke, kind: sensor, protocol: mqtt, config: {sensor: smoke}}\n", ""
        )
    )
    kept = await plan_manifest(api, smaller)
    assert kept.empty
    assert kept.unmanaged[0] == "room KTV 2" and "device KTV 1 / smoke" in kept.unmanaged

    pruned = await plan_manifest(api, smaller, prune=True)
    assert [(a.op, a.target, a.label) for a in pruned.actions] == [
        (Op.DELETE, Target.DEVICE, "KTV 1 / smoke"),
        (Op.DELETE, Target.ROOM, "KTV 2"),
    ]
    await execute_plan(api, pruned)
    assert (await plan_manifest(api, smaller, prune=True)).empty
    store = next(s for s in await api.list_stores() if s["name"] == "Demo Store C")
    assert "KTV 2" not in {r["name"] for r in await api.list_rooms(store["id"])}
    assert len(await api.list_devices(store["id"])) == 5 * 3 + 4


async def test_a_refused_step_stops_the_apply_and_a_fixed_manifest_completes_it(
    demo_cloud: DemoCloud,
) -> None:
    api = demo_cloud.api
    room = demo_cloud.seed.store("Demo Store A").rooms[0]
    taken = (await api.create_device({"room_id": room.id, "kind": "lock", "protocol": "mqtt"}))["id"]
    clash = example(
        ("      - {kind: lock, protocol: mqtt}\n", f"      - {{id: {taken}, kind: lock, protocol: mqtt}}\n")
    )
    plan = await plan_manifest(api, clash)
    with pytest.raises(ApplyFailed) as caught:
        await execute_plan(api, plan)
    failed = caught.value
    assert isinstance(failed.cause, ApiError) and failed.cause.code == "device_exists"
    assert failed.action.id == taken and 0 < failed.done < failed.total
    assert "applying is idempotent" in failed.message

    fixed = example()
    rest = await plan_manifest(api, fixed)
    assert 0 < len(rest.actions) < len(plan.actions)  # what was done stays done
    await execute_plan(api, rest)
    assert (await plan_manifest(api, fixed)).empty


async def test_conflicts_block_the_apply_before_any_change(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    manifest = example(("    cleaning_gap_min: 20\n", "    cleaning_gap_min: 20\n    nap_min: 5\n"))
    plan = await plan_manifest(api, manifest)
    assert plan.conflicts and plan.conflicts[0].startswith(
        "store.booking_settings.nap_min: the cloud has no such"
    )
    with pytest.raises(PlanBlocked):
        await execute_plan(api, plan)
    assert "Demo Store C" not in {s["name"] for s in await api.list_stores()}


async def test_a_manifest_for_a_seeded_store_adopts_devices_given_by_id(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    store = demo_cloud.seed.store("Demo Store A")
    room = store.room("Mahjong 1")
    lock = await api.create_device(
        {"room_id": room.id, "kind": "lock", "protocol": "mqtt", "id": "lock-a-m1"}
    )
    text = f"""
region: Demo Region
store: {{name: Demo Store A}}
rooms:
  - name: Mahjong 1
    kind: mahjong
    devices:
      - {{id: {lock["id"]}, kind: lock, protocol: mqtt}}
"""
    plan = await plan_manifest(api, parse_manifest(text))
    assert plan.empty
    assert "room KTV 1" in plan.unmanaged
    moved = text.replace("protocol: mqtt}", "protocol: ble, config: {address: 'AA:BB:CC:DD:EE:FF'}}")
    plan = await plan_manifest(api, parse_manifest(moved))
    (action,) = plan.actions
    assert isinstance(action, Action) and action.op is Op.UPDATE and action.id == "lock-a-m1"
    await execute_plan(api, plan)
    devices = {d["id"]: d for d in await api.list_devices(store.id)}
    assert devices["lock-a-m1"]["protocol"] == "ble"


async def test_zones_are_changed_in_place_for_rooms_and_store_wide_devices(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    await execute_plan(api, await plan_manifest(api, example()))
    changed = parse_manifest(
        EXAMPLE.read_text()
        .replace("  - name: KTV 2\n    zone: Floor 2\n", "  - name: KTV 2\n    zone: Floor 3\n", 1)
        .replace("zone: Floor 2, config: {sensor: smoke}", "zone: Floor 3, config: {sensor: smoke}", 1)
    )
    plan = await plan_manifest(api, changed)
    assert [
        (a.op, a.target, a.label, [(c.field, c.before, c.after) for c in a.changes]) for a in plan.actions
    ] == [
        (Op.UPDATE, Target.ROOM, "KTV 2", [("zone", "Floor 2", "Floor 3")]),
        (Op.UPDATE, Target.DEVICE, "store / stair-smoke", [("zone", "Floor 2", "Floor 3")]),
    ]
    await execute_plan(api, plan)
    assert (await plan_manifest(api, changed)).empty
    assert plan.store_id is not None
    devices = {d["id"]: d for d in await api.list_devices(plan.store_id)}
    assert devices[f"{plan.store_id}-stair-smoke"]["zone"] == "Floor 3"
