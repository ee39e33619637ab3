"""Importing devices from CSV into a real store: all or nothing, unless bad rows are skipped."""

from __future__ import annotations

import pytest

from provisioning.devices_csv import parse_devices_csv
from provisioning.importer import ImportInvalid, plan_import
from provisioning.manifest.apply import execute_plan
from tests.integration.provisioning.conftest import DemoCloud

CSV = """room,name,kind,protocol,config,host,port
Mahjong 1,,lock,mqtt,,,
Mahjong 1,,power,modbus,unit=1;channels=2,127.0.0.1,1502
KTV 1,door,lock,mqtt,,,
,entrance,scanner,tcp,,10.0.0.9,9000
"""


async def test_a_csv_is_imported_once_and_a_second_import_changes_nothing(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    store = demo_cloud.seed.store("Demo Store A")
    planned = await plan_import(api, "Demo Store A", parse_devices_csv(CSV))
    assert planned.rows == 4 and planned.skipped == ()
    assert planned.plan.summary() == "4 to create"
    await execute_plan(api, planned.plan)
    devices = {d["id"]: d for d in await api.list_devices(store.id)}
    mahjong, ktv = store.room("Mahjong 1").id, store.room("KTV 1").id
    assert set(devices) == {f"{mahjong}-lock", f"{mahjong}-power", f"{ktv}-door", f"{store.id}-entrance"}
    assert devices[f"{mahjong}-power"]["config"] == {
        "unit": "1",
        "channels": "2",
        "host": "127.0.0.1",
        "port": "1502",
    }

    again = await plan_import(api, store.id, parse_devices_csv(CSV))
    assert again.plan.empty


async def test_a_changed_row_updates_that_device_only(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    await execute_plan(api, (await plan_import(api, "Demo Store A", parse_devices_csv(CSV))).plan)
    changed = CSV.replace("127.0.0.1,1502", "127.0.0.1,1503")
    planned = await plan_import(api, "Demo Store A", parse_devices_csv(changed))
    assert [(a.op.value, a.label) for a in planned.plan.actions] == [("update", "Mahjong 1 / power")]


async def test_bad_rows_stop_the_import_with_every_line_and_nothing_is_applied(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    store = demo_cloud.seed.store("Demo Store A")
    bad = CSV + "Attic,,lock,mqtt,,,\nKTV 2,,power,modbus,,10.0.0.1,\n"
    with pytest.raises(ImportInvalid) as caught:
        await plan_import(api, "Demo Store A", parse_devices_csv(bad), source="devices.csv")
    assert [(e.line, e.message.split(":")[0]) for e in caught.value.errors] == [
        (6, "room"),
        (7, "config.port"),
    ]
    assert "devices.csv:6: room: the store has no room 'Attic'" in caught.value.message
    assert await api.list_devices(store.id) == []


async def test_skip_bad_imports_the_good_rows_and_lists_the_rest(demo_cloud: DemoCloud) -> None:
    api = demo_cloud.api
    store = demo_cloud.seed.store("Demo Store A")
    bad = CSV + "Attic,,lock,mqtt,,,\nKTV 2,,power,modbus,,10.0.0.1,\n"
    planned = await plan_import(api, store.name, parse_devices_csv(bad), skip_bad=True)
    assert [e.line for e in planned.skipped] == [6, 7]
    await execute_plan(api, planned.plan)
    assert len(await api.list_devices(store.id)) == 4
