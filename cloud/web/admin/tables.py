"""Table views of the admin app: one set of rows shown as an HTML table or downloaded as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import quote

from fastapi.responses import Response

# A spreadsheet runs a cell starting with these as a formula (CSV injection): such cells get a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Value = str | int | float | None


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its value (CSV and HTML), and optionally a link and a CSS class (HTML only)."""

    value: Value
    href: str | None = None
    css: str | None = None

    @property
    def text(self) -> str:
        """The value as shown."""
        if self.value is None:
            return ""
        if isinstance(self.value, float):
            return f"{self.value:.4g}"
        return str(self.value)


def cell(value: object, href: str | None = None, css: str | None = None) -> Cell:
    """A cell of any value: numbers stay numbers, times are ISO text, the rest is text."""
    if value is None or isinstance(value, str | int | float):
        return Cell(value, href, css)
    if isinstance(value, datetime | date):
        return Cell(value.isoformat(), href, css)
    return Cell(str(value), href, css)


@dataclass(slots=True)
class TableView:
    """A named table: its column headings and rows (the page shows it, `?csv=<name>` downloads it)."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)

    def add(self, *values: object) -> None:
        """Append a row (plain values or Cells, one per column)."""
        if len(values) != len(self.columns):
            raise ValueError(f"{self.name}: {len(values)} values for {len(self.columns)} columns")
        self.rows.append(tuple(v if isinstance(v, Cell) else cell(v) for v in values))


def safe_csv_value(value: Value) -> str | int | float:
    """A CSV field: numbers as they are; text starting like a formula is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_text(table: TableView) -> str:
    """The table as CSV (header row first, RFC 4180 quoting, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_csv_value(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([safe_csv_value(c.value) for c in row])
    return out.getvalue()


def csv_response(table: TableView, filename: str) -> Response:
    """A download of the table as UTF-8 CSV (with a BOM, so spreadsheet programs read Chinese names)."""
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename) or "table"
    return Response(
        "\ufeff" + csv_text(table),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}.csv\"; filename*=UTF-8''{quote(name)}.csv"
        },
    )


def pick(tables: Iterable[TableView], name: str) -> TableView | None:
    """The table called name, if the page has one."""
    return next((t for t in tables if t.name == name), None)
