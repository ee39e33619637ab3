"""Batch device import from CSV: parse and validate every row, reporting each bad one by line (pure).

The file has a header row. Columns (case-insensitive, any order):

| column | required | meaning |
| --- | --- | --- |
| `room` | yes (cell may be empty) | the room's name or id; empty: a store-wide device |
| `kind`, `protocol` | yes | e.g. `lock`,`mqtt` or `power`,`modbus` (see provisioning/README.md) |
| `name` | no | the device's name in its room (default: its kind); its cloud id is derived from it |
| `id` | no | an explicit device id instead of a derived one |
| `config` | no | `key=value;key=value` |
| `zone` | no | a store-wide device's alarm zone (a room's devices take the room's zone); empty: unmanaged |
| anything else | no | a config key (`host`, `port`, `unit`, `channels`, `address`, `coil`); empty: unset |

Blank lines and lines whose first cell starts with `#` are skipped. Files saved by Excel (UTF-8
with a byte order mark) are read as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from provisioning.manifest.devices import check_device_config, check_device_id, check_device_name
from provisioning.manifest.model import ZONE_PATTERN, DesiredDevice
from provisioning.state import RoomState

REQUIRED_COLUMNS = ("room", "kind", "protocol")
KNOWN_COLUMNS = ("room", "name", "kind", "protocol", "id", "config", "zone")


@dataclass(frozen=True, slots=True)
class RowError:
    """A bad row (line 0: the file as a whole) and why."""

    line: int
    message: str

    def render(self, source: str = "") -> str:
        """`source:line: message`."""
        lead = f"{source}:" if source else "line "
        return f"{lead}{self.line}: {self.message}" if self.line else f"{source or 'file'}: {self.message}"


@dataclass(frozen=True, slots=True)
class CsvDevice:
    """A good row: its line and the device it describes (`device.room` is the cell as written)."""

    line: int
    device: DesiredDevice


@dataclass(frozen=True, slots=True)
class CsvParse:
    """Every good row and every bad one."""

    rows: tuple[CsvDevice, ...] = ()
    errors: tuple[RowError, ...] = ()


def parse_config_cell(text: str) -> tuple[dict[str, str], str | None]:
    """`key=value;key=value` as a dict, or the problem with it."""
    config: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            return {}, f"config {part.strip()!r} is not key=value (separate pairs with ';')"
        if key in config:
            return {}, f"config key {key!r} given twice"
        config[key] = value.strip()
    return config, None


def _row_device(cells: Mapping[str, str], line: int) -> tuple[DesiredDevice | None, list[str]]:
    problems: list[str] = []
    kind, protocol = cells.get("kind", ""), cells.get("protocol", "")
    for column in ("kind", "protocol"):
        if not cells.get(column):
            problems.append(f"{column}: required")
    config, config_problem = parse_config_cell(cells.get("config", ""))
    if config_problem is not None:
        problems.append(config_problem)
    for column, value in cells.items():
        if column in KNOWN_COLUMNS or not value:
            continue
        if column in config:
            problems.append(f"config key {column!r} given both as a column and in the config cell")
        config[column] = value
    if problems:
        return None, problems
    name = cells.get("name") or kind
    if (message := check_device_name(name)) is not None:
        problems.append(f"{'name' if cells.get('name') else 'kind'}: {message}")
    device_id = cells.get("id") or None
    if device_id is not None and (message := check_device_id(device_id)) is not None:
        problems.append(f"id: {message}")
    clean, config_problems = check_device_config(kind, protocol, config)
    problems += [f"{p.where}: {p.message}" for p in config_problems]
    zone = cells.get("zone", "").strip() or None
    if zone is not None and cells.get("room"):
        problems.append("zone: a room's devices take the room's zone; give it to the room")
    elif zone is not None and not ZONE_PATTERN.match(zone):
        problems.append("zone: a zone has 1-40 letters, digits, spaces, '_', '.' or '-'")
    if problems:
        return None, problems
    device = DesiredDevice(
        name=name,
        kind=kind,
        protocol=protocol,
        config=clean,
        room=cells.get("room") or None,
        id=device_id,
        where=f"line {line}",
        zone=zone,
    )
    return device, []


def parse_devices_csv(text: str) -> CsvParse:
    """Every row of a device CSV: good rows as devices, bad rows with their line and every problem."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    header: list[str] | None = None
    rows: list[CsvDevice] = []
    errors: list[RowError] = []
    seen_names: dict[tuple[str | None, str], int] = {}
    seen_ids: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record) or record[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    errors.append(RowError(line, f"the header lacks column(s): {', '.join(missing)}"))
                    return CsvParse(errors=tuple(errors))
                twice = sorted({c for c in header if c and header.count(c) > 1})
                if twice:
                    errors.append(RowError(line, f"column(s) given twice in the header: {', '.join(twice)}"))
                    return CsvParse(errors=tuple(errors))
                continue
            if len(record) > len(header):
                errors.append(RowError(line, f"{len(record)} cells but the header has {len(header)} columns"))
                continue
            cells = {column: value.strip() for column, value in zip(header, record, strict=False) if column}
            device, problems = _row_device(cells, line)
            if device is None:
                errors.append(RowError(line, "; ".join(problems)))
                continue
            if device.id is not None:
                first = seen_ids.setdefault(device.id, line)
            else:
                first = seen_names.setdefault((device.room, device.name), line)
            if first != line:
                what = (
                    f"id {device.id!r}"
                    if device.id
                    else f"{device.name!r} in room {device.room or '(store)'!r}"
                )
                errors.append(RowError(line, f"device {what} is already on line {first}"))
                continue
            rows.append(CsvDevice(line, device))
    except csv.Error as err:
        errors.append(RowError(reader.line_num, f"not valid CSV: {err}"))
    if header is None:
        errors.append(RowError(0, "the file has no header row"))
    return CsvParse(rows=tuple(rows), errors=tuple(errors))


def resolve_rooms(rows: Sequence[CsvDevice], rooms: Sequence[RoomState]) -> CsvParse:
    """Rows with their room cell (a name or an id) turned into the room's name; unknown rooms are errors."""
    by_id = {r.id: r.name for r in rooms}
    names = {r.name for r in rooms}
    good: list[CsvDevice] = []
    errors: list[RowError] = []
    seen: dict[tuple[str | None, str], int] = {}
    for row in rows:
        room = row.device.room
        if room is not None and room in by_id:
            row = CsvDevice(row.line, _with_room(row.device, by_id[room]))
        elif room is not None and room not in names:
            errors.append(RowError(row.line, f"room: the store has no room {room!r}"))
            continue
        if row.device.id is None:
            first = seen.setdefault((row.device.room, row.device.name), row.line)
            if first != row.line:
                errors.append(
                    RowError(row.line, f"device {row.device.name!r} of that room is already on line {first}")
                )
                continue
        good.append(row)
    return CsvParse(rows=tuple(good), errors=tuple(errors))


def _with_room(device: DesiredDevice, room: str) -> DesiredDevice:
    return DesiredDevice(
        name=device.name,
        kind=device.kind,
        protocol=device.protocol,
        config=device.config,
        room=room,
        id=device.id,
        where=device.where,
    )
