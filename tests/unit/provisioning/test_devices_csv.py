"""Device CSV parsing: good rows become devices, every bad row is reported with its line number."""

from __future__ import annotations

from provisioning.devices_csv import parse_config_cell, parse_devices_csv, resolve_rooms
from provisioning.state import RoomState

GOOD = """room,name,kind,protocol,id,config,host,port
Mahjong 1,,lock,mqtt,,,,
Mahjong 1,,power,modbus,,unit=1;channels=2,10.0.0.5,502
# a comment line

,entrance,scanner,tcp,,,10.0.0.9,9000
KTV 1,door,lock,mqtt,lock-ktv-1,,,
"""


def test_good_rows_become_devices_with_their_lines() -> None:
    parsed = parse_devices_csv(GOOD)
    assert parsed.errors == ()
    assert [(r.line, r.device.room, r.device.name, r.device.id) for r in parsed.rows] == [
        (2, "Mahjong 1", "lock", None),
        (3, "Mahjong 1", "power", None),
        (6, None, "entrance", None),
        (7, "KTV 1", "door", "lock-ktv-1"),
    ]
    assert parsed.rows[1].device.config == {"unit": "1", "channels": "2", "host": "10.0.0.5", "port": "502"}
    assert parsed.rows[2].device.config == {"host": "10.0.0.9", "port": "9000"}


def test_an_excel_byte_order_mark_and_header_case_are_tolerated() -> None:
    parsed = parse_devices_csv("\ufeffRoom,Kind,Protocol\nMahjong 1,lock,mqtt\n")
    assert parsed.errors == () and parsed.rows[0].device.kind == "lock"


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    text = """room,kind,protocol,config,port
Mahjong 1,lock,mqtt,,
Mahjong 1,power,modbus,host=10.0.0.5,70000
Mahjong 2,fridge,mqtt,,
Mahjong 2,,mqtt,,
Mahjong 2,scanner,tcp,host,9000
Mahjong 3,lock,mqtt,,
"""
    parsed = parse_devices_csv(text)
    assert [r.line for r in parsed.rows] == [2, 7]
    errors = {e.line: e.message for e in parsed.errors}
    assert sorted(errors) == [3, 4, 5, 6]
    assert "config.port: must be 1-65535" in errors[3]
    assert "config.unit: required for power/modbus" in errors[3]
    assert "unknown device kind 'fridge'" in errors[4]
    assert errors[5] == "kind: required"
    assert "config 'host' is not key=value" in errors[6]
    assert parsed.errors[0].render("d.csv") == f"d.csv:3: {errors[3]}"


def test_a_header_without_the_required_columns_stops_at_line_one() -> None:
    parsed = parse_devices_csv("room,kind\nMahjong 1,lock\n")
    assert [(e.line, e.message) for e in parsed.errors] == [(1, "the header lacks column(s): protocol")]


def test_a_column_given_twice_in_the_header_is_refused() -> None:
    parsed = parse_devices_csv("room,kind,protocol,port,port\n")
    assert parsed.errors[0].message == "column(s) given twice in the header: port"


def test_an_empty_file_has_no_header() -> None:
    parsed = parse_devices_csv("\n\n")
    assert [(e.line, e.message) for e in parsed.errors] == [(0, "the file has no header row")]
    assert parsed.errors[0].render("d.csv") == "d.csv: the file has no header row"


def test_a_row_with_more_cells_than_columns_is_refused() -> None:
    parsed = parse_devices_csv("room,kind,protocol\nMahjong 1,lock,mqtt,extra\n")
    assert parsed.errors[0].message == "4 cells but the header has 3 columns"


def test_a_config_key_in_both_a_column_and_the_config_cell_is_refused() -> None:
    parsed = parse_devices_csv("room,kind,protocol,config,port\nR,scanner,tcp,host=h;port=1,2\n")
    assert "given both as a column and in the config cell" in parsed.errors[0].message


def test_names_and_ids_are_checked() -> None:
    parsed = parse_devices_csv("room,name,kind,protocol,id\nR,Big Door,lock,mqtt,\nR,,lock,mqtt,a/b\n")
    assert parsed.errors[0].message.startswith("name: must be a lower-case slug")
    assert parsed.errors[1].message.startswith("id: must be 1-64 characters")


def test_a_device_given_twice_is_reported_on_its_second_line() -> None:
    text = "room,name,kind,protocol,id\nR,,lock,mqtt,\nR,,lock,mqtt,\n,,gate,mqtt,g-1\nS,,gate,mqtt,g-1\n"
    parsed = parse_devices_csv(text)
    assert [(e.line, e.message) for e in parsed.errors] == [
        (3, "device 'lock' in room 'R' is already on line 2"),
        (5, "device id 'g-1' is already on line 4"),
    ]


def test_broken_csv_quoting_is_reported() -> None:
    parsed = parse_devices_csv('room,kind,protocol\nR,lock,mqtt\n"R"x,lock,mqtt\n')
    assert [r.line for r in parsed.rows] == [2]
    assert [(e.line, e.message) for e in parsed.errors] == [(3, "not valid CSV: ',' expected after '\"'")]


def test_config_cells_are_key_value_pairs_separated_by_semicolons() -> None:
    assert parse_config_cell(" host = 10.0.0.1 ; port=502; ") == ({"host": "10.0.0.1", "port": "502"}, None)
    assert parse_config_cell("port=1;port=2") == ({}, "config key 'port' given twice")
    assert parse_config_cell("=5")[1] is not None


def test_rooms_are_found_by_name_or_id_and_unknown_rooms_are_errors() -> None:
    rooms = [RoomState("rm-1", "Mahjong 1", "mahjong"), RoomState("rm-2", "KTV 1", "ktv")]
    text = (
        "room,name,kind,protocol\n"
        "rm-1,,lock,mqtt\nKTV 1,,lock,mqtt\nAttic,,lock,mqtt\nMahjong 1,,lock,mqtt\n,x,gate,mqtt\n"
    )
    resolved = resolve_rooms(parse_devices_csv(text).rows, rooms)
    assert [(r.line, r.device.room) for r in resolved.rows] == [(2, "Mahjong 1"), (3, "KTV 1"), (6, None)]
    assert [(e.line, e.message) for e in resolved.errors] == [
        (4, "room: the store has no room 'Attic'"),
        (5, "device 'lock' of that room is already on line 2"),
    ]


def test_a_store_wide_device_may_name_its_alarm_zone_and_a_rooms_device_may_not() -> None:
    text = """room,name,kind,protocol,zone,sensor
,smoke-2f,sensor,mqtt,2F,smoke
,smoke-hall,sensor,mqtt,,smoke
Mahjong 1,smoke,sensor,mqtt,2F,smoke
,smoke-bad,sensor,mqtt,2F!,smoke
"""
    parsed = parse_devices_csv(text)
    assert [(r.line, r.device.zone) for r in parsed.rows] == [(2, "2F"), (3, None)]
    assert parsed.rows[0].device.config == {"sensor": "smoke"}
    errors = {e.line: e.message for e in parsed.errors}
    assert errors[4] == "zone: a room's devices take the room's zone; give it to the room"
    assert errors[5].startswith("zone: a zone has 1-40 letters")
