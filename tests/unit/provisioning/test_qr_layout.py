"""QR sheet layout: the texts of each room's codes, pages per kind, and where modules are drawn."""

from __future__ import annotations

import segno

from protos.codes import room_code
from provisioning.qrsheet.layout import (
    A4,
    QUIET_ZONE,
    CodeKind,
    SheetRoom,
    dark_runs,
    layout_pages,
    order_url,
    place_qr,
    qr_matrix,
    sheet_items,
)

KEY = bytes(range(32))
ROOMS = [SheetRoom(f"rm-{i}", f"Room {i}", room_code(KEY, 1, "s-1", f"rm-{i}")) for i in range(14)]


def test_a_room_has_its_sealed_scan_code_and_an_ordering_url() -> None:
    assert order_url("https://cloud.example/", "s-1", "rm-2") == "https://cloud.example/order/s-1/rm-2"
    items = sheet_items("s-1", ROOMS[:2], base_url="http://c")
    assert [(i.kind, i.text, i.title) for i in items] == [
        (CodeKind.SCAN, ROOMS[0].scan_code, "Room 0"),
        (CodeKind.SCAN, ROOMS[1].scan_code, "Room 1"),
        (CodeKind.ORDER, "http://c/order/s-1/rm-0", "Room 0"),
        (CodeKind.ORDER, "http://c/order/s-1/rm-1", "Room 1"),
    ]
    assert [i.text for i in sheet_items("s-1", ROOMS[:1], base_url="http://c", kinds=[CodeKind.ORDER])] == [
        "http://c/order/s-1/rm-0"
    ]


def test_each_kind_starts_a_page_and_a_page_holds_twelve_codes() -> None:
    pages = layout_pages(sheet_items("s-1", ROOMS, base_url="http://c"), store_name="Store")
    assert [len(p.cells) for p in pages] == [12, 2, 12, 2]
    assert {c.item.kind for c in pages[1].cells} == {CodeKind.SCAN}
    assert pages[2].title == "Store: ordering codes, for tables"
    assert all(p.size == A4 for p in pages)


def test_cells_and_codes_stay_inside_the_page_margins_without_overlapping() -> None:
    (page,) = layout_pages(
        sheet_items("s-1", ROOMS[:12], base_url="http://c", kinds=[CodeKind.SCAN]), store_name="S"
    )
    width, height = page.size
    for cell in page.cells:
        assert cell.x >= 36 and cell.x + cell.width <= width - 36 + 1e-6
        assert cell.y >= 36 and cell.y + cell.height <= height - 36 + 1e-6
        assert cell.x <= cell.qr_x and cell.qr_x + cell.qr_size <= cell.x + cell.width
        assert cell.qr_y + cell.qr_size < cell.y + cell.height
        assert cell.qr_size > 100  # about 4 cm: scannable from a phone at arm's length
    boxes = [(c.x, c.y) for c in page.cells]
    assert len(set(boxes)) == len(boxes)


def test_the_matrix_is_segnos_with_a_quiet_zone_around_it() -> None:
    text = "GHROOM.s-1.rm-2"
    inner = [[bool(v) for v in row] for row in segno.make(text, error="m", micro=False).matrix]
    matrix = qr_matrix(text)
    assert len(matrix) == len(inner) + 2 * QUIET_ZONE
    assert [row[QUIET_ZONE:-QUIET_ZONE] for row in matrix[QUIET_ZONE:-QUIET_ZONE]] == inner
    assert not any(matrix[0]) and not any(row[0] for row in matrix)


def test_pixel_placement_uses_whole_pixel_modules_centred_in_the_box() -> None:
    spot = place_qr(100.4, 50.0, 250.0, 33, whole_units=True)
    assert spot.module == 7.0
    assert (spot.x, spot.y) == (100.0 + 9, 50.0 + 9)
    vector = place_qr(10.0, 20.0, 99.0, 33)
    assert (vector.x, vector.y, vector.module) == (10.0, 20.0, 3.0)


def test_dark_runs_merge_neighbouring_modules() -> None:
    assert dark_runs([True, True, False, True, False, False, True]) == [(0, 2), (3, 1), (6, 1)]
    assert dark_runs([False, False]) == []
