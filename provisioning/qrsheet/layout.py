"""What a QR sheet shows and where (pure): the codes of each room, pages of labelled cells, QR placement.

Two codes per room: the room scan code (`GHROOM.<store>.<room>.<key version>.<mac>`, sealed by the
cloud with the store key and read from its API, scanned by cleaners, staff and maintainers at the
room; see protos/README.md) and, for tables and booths, the ordering URL
(`<cloud>/order/<store_id>/<room_id>`, opened by customers' phones). Each kind starts on a page
of its own, since they are put up in different places. Geometry is in PDF points (1/72 inch)
with the origin at the top left of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import segno

A4 = (595.2756, 841.8898)
MARGIN = 36.0
HEADER = 40.0
LABEL = 46.0
PAD = 8.0
QUIET_ZONE = 4  # modules of white around a QR code, as the standard asks
QR_ERROR = "m"


class CodeKind(StrEnum):
    """Which code of a room."""

    SCAN = "scan"
    ORDER = "order"


KIND_CAPTION = {CodeKind.SCAN: "room scan code (staff)", CodeKind.ORDER: "scan to order"}
KIND_TITLE = {
    CodeKind.SCAN: "room scan codes, for cleaners and staff",
    CodeKind.ORDER: "ordering codes, for tables",
}


@dataclass(frozen=True, slots=True)
class SheetRoom:
    """A room on the sheet: its id, name and sealed scan code (from the cloud's room-codes API)."""

    id: str
    name: str
    scan_code: str


def order_url(base_url: str, store_id: str, room_id: str) -> str:
    """The ordering URL of a room, table or booth."""
    return f"{base_url.rstrip('/')}/order/{store_id}/{room_id}"


@dataclass(frozen=True, slots=True)
class QrItem:
    """One code on the sheet: its text, the room it is for and which kind it is."""

    text: str
    title: str
    kind: CodeKind

    @property
    def caption(self) -> str:
        """The line under the room name."""
        return KIND_CAPTION[self.kind]


def sheet_items(
    store_id: str,
    rooms: Sequence[SheetRoom],
    *,
    base_url: str,
    kinds: Sequence[CodeKind] = (CodeKind.SCAN, CodeKind.ORDER),
) -> list[QrItem]:
    """The codes of the given rooms, kind by kind, rooms in the given order."""
    items: list[QrItem] = []
    for kind in kinds:
        for room in rooms:
            text = room.scan_code if kind is CodeKind.SCAN else order_url(base_url, store_id, room.id)
            items.append(QrItem(text=text, title=room.name, kind=kind))
    return items


@dataclass(frozen=True, slots=True)
class Cell:
    """A labelled code on a page: the cell's box and the square box its QR code is drawn in."""

    item: QrItem
    x: float
    y: float
    width: float
    height: float
    qr_x: float
    qr_y: float
    qr_size: float


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its size, title and cells."""

    title: str
    cells: tuple[Cell, ...]
    size: tuple[float, float] = A4


def layout_pages(
    items: Sequence[QrItem],
    *,
    store_name: str,
    columns: int = 3,
    rows: int = 4,
    size: tuple[float, float] = A4,
) -> list[Page]:
    """Pages of cells (columns x rows each), a new page for each kind of code."""
    width, height = size
    cell_w = (width - 2 * MARGIN) / columns
    cell_h = (height - 2 * MARGIN - HEADER) / rows
    qr_size = min(cell_w - 2 * PAD, cell_h - LABEL - 2 * PAD)
    per_page = columns * rows
    pages: list[Page] = []
    for kind in dict.fromkeys(item.kind for item in items):
        same = [item for item in items if item.kind is kind]
        for start in range(0, len(same), per_page):
            cells = []
            for index, item in enumerate(same[start : start + per_page]):
                x = MARGIN + (index % columns) * cell_w
                y = MARGIN + HEADER + (index // columns) * cell_h
                cells.append(
                    Cell(
                        item=item,
                        x=x,
                        y=y,
                        width=cell_w,
                        height=cell_h,
                        qr_x=x + (cell_w - qr_size) / 2,
                        qr_y=y + PAD,
                        qr_size=qr_size,
                    )
                )
            pages.append(Page(title=f"{store_name}: {KIND_TITLE[kind]}", cells=tuple(cells), size=size))
    return pages


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of text's QR code (True: dark), with the quiet zone around them."""
    code = segno.make(text, error=QR_ERROR, micro=False)
    inner = [[bool(v) for v in row] for row in code.matrix]
    size = len(inner) + 2 * QUIET_ZONE
    blank = [False] * size
    pad = [False] * QUIET_ZONE
    return (
        [list(blank) for _ in range(QUIET_ZONE)]
        + [pad + row + pad for row in inner]
        + [list(blank) for _ in range(QUIET_ZONE)]
    )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a QR code's modules go: top-left corner and module size, in the drawing's units."""

    x: float
    y: float
    module: float


def place_qr(x: float, y: float, size: float, modules: int, *, whole_units: bool = False) -> Placement:
    """Fit `modules` squares in the box (centred); whole_units keeps module edges on whole pixels."""
    if whole_units:
        module = float(max(1, int(size // modules)))
        offset = float(int((size - module * modules) // 2))
        return Placement(float(int(x)) + offset, float(int(y)) + offset, module)
    module = size / modules
    return Placement(x, y, module)


def dark_runs(row: Sequence[bool]) -> list[tuple[int, int]]:
    """The runs of dark modules in a row as (start, length): one rectangle each when drawing."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for index, dark in enumerate([*row, False]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            runs.append((start, index - start))
            start = None
    return runs
