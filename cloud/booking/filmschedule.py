"""Pure parsing of a film schedule CSV (hall, start, end, title) into blocked slots of cinema halls.

Rows are numbered as a spreadsheet shows them: the header is row 1. Times without an offset are the
store's local time. Every bad row is reported at once; a file with any bad row imports nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cloud.errors import Invalid

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_ERRORS = 50
MAX_FILM = timedelta(hours=12)
MAX_TITLE = 200

# Column names as exported by ticketing systems, English or Chinese.
HEADERS: dict[str, tuple[str, ...]] = {
    "hall": ("hall", "影厅", "厅", "放映厅"),
    "start": ("start", "starts_at", "开始", "开始时间", "开映时间"),
    "end": ("end", "ends_at", "结束", "结束时间", "散场时间"),
    "title": ("title", "film", "片名", "影片", "影片名称"),
}
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was refused."""

    row: int
    column: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"row": self.row, "column": self.column, "message": self.message}


class ScheduleInvalid(Invalid):
    """The file has bad rows; `extra["errors"]` lists them with their row numbers."""

    code = "invalid_schedule"


@dataclass(frozen=True, slots=True)
class FilmRow:
    """One showing: its row, the hall's room id, its UTC range and title."""

    row: int
    room_id: str
    hall: str
    starts_at: datetime
    ends_at: datetime
    title: str


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), else GB18030 (what Chinese Excel saves)."""
    if len(data) > MAX_BYTES:
        raise Invalid(f"the file is larger than {MAX_BYTES} bytes", code="file_too_large", field="file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as err:
            raise Invalid(
                "the file is neither UTF-8 nor GB18030 text", code="bad_encoding", field="file"
            ) from err


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    """A local ("2026-11-20 14:00") or offset ISO time as aware UTC on a whole minute; ValueError if not."""
    text = text.strip()
    parsed: datetime | None = None
    for fmt in _FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        parsed = datetime.fromisoformat(text)
    if parsed.second or parsed.microsecond:
        raise ValueError("not a whole minute")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    names = [h.strip().lower() for h in header]
    for key, aliases in HEADERS.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[key] = i
                break
    missing = [key for key in HEADERS if key not in found]
    if missing:
        error = ScheduleInvalid(
            f"row 1: the header needs columns hall, start, end, title (missing {', '.join(missing)})",
            field="file",
        )
        error.extra = {"errors": [RowError(1, key, "missing column").as_json() for key in missing]}
        raise error
    return found


def parse_schedule(text: str, tz: ZoneInfo, halls: Mapping[str, str]) -> list[FilmRow]:
    """The showings of a schedule file; `halls` maps a hall's name (or room id) to its room id."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ScheduleInvalid("the file is empty", field="file") from None
    except csv.Error as err:
        raise ScheduleInvalid(f"row 1: {err}", field="file") from err
    columns = _columns(header)
    errors: list[RowError] = []
    rows: list[FilmRow] = []
    seen: set[tuple[str, datetime, datetime, str]] = set()
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            errors.append(RowError(number + 1, None, str(err)))
            break
        number += 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(RowError(number, None, f"more than {MAX_ROWS} rows"))
            break
        row = _row(number, cells, columns, tz, halls, errors)
        if row is None:
            continue
        key = (row.room_id, row.starts_at, row.ends_at, row.title)
        if key in seen:  # the same showing twice in one file is one showing
            continue
        seen.add(key)
        rows.append(row)
    errors.extend(_overlaps(rows))
    if errors:
        errors.sort(key=lambda e: e.row)
        first = errors[0]
        error = ScheduleInvalid(f"{len(errors)} bad row(s); row {first.row}: {first.message}", field="file")
        error.extra = {"errors": [e.as_json() for e in errors[:MAX_ERRORS]]}
        raise error
    return rows


def _row(
    number: int,
    cells: list[str],
    columns: Mapping[str, int],
    tz: ZoneInfo,
    halls: Mapping[str, str],
    errors: list[RowError],
) -> FilmRow | None:
    def cell(key: str) -> str:
        index = columns[key]
        return cells[index].strip() if index < len(cells) else ""

    before = len(errors)
    hall = cell("hall")
    room_id = halls.get(hall)
    if not hall:
        errors.append(RowError(number, "hall", "the hall is empty"))
    elif room_id is None:
        errors.append(RowError(number, "hall", f"unknown hall {hall!r}"))
    times: dict[str, datetime] = {}
    for key in ("start", "end"):
        raw = cell(key)
        try:
            times[key] = parse_time(raw, tz)
        except ValueError:
            errors.append(RowError(number, key, f"bad time {raw!r} (use YYYY-MM-DD HH:MM)"))
    title = cell("title")
    if not title or len(title) > MAX_TITLE:
        errors.append(RowError(number, "title", f"the title must be 1..{MAX_TITLE} characters"))
    if len(times) == 2:
        if times["end"] <= times["start"]:
            errors.append(RowError(number, "end", "the end is not after the start"))
        elif times["end"] - times["start"] > MAX_FILM:
            errors.append(RowError(number, "end", "a showing longer than 12 hours"))
    if len(errors) > before or room_id is None:
        return None
    return FilmRow(number, room_id, hall, times["start"], times["end"], title)


def _overlaps(rows: list[FilmRow]) -> list[RowError]:
    errors: list[RowError] = []
    by_room: dict[str, list[FilmRow]] = {}
    for row in rows:
        by_room.setdefault(row.room_id, []).append(row)
    for items in by_room.values():
        items.sort(key=lambda r: (r.starts_at, r.row))
        latest = items[0]  # the row reaching furthest so far
        for row in items[1:]:
            if row.starts_at < latest.ends_at:
                errors.append(RowError(row.row, "start", f"overlaps row {latest.row} in hall {row.hall!r}"))
            if row.ends_at > latest.ends_at:
                latest = row
    return errors
