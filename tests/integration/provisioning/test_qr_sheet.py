"""QR sheets of a real store: the file is a valid PNG/PDF of A4 size and each drawn code is segno's."""

from __future__ import annotations

import io
import re
from pathlib import Path

import segno
from PIL import Image
from pypdf import PdfReader
from rich.console import Console

from cloud.storekeys import keyring
from gatehouse.provision import EXIT_OK, run_qr_sheet
from protos.codes import is_room_code, verify_room_code
from provisioning.connection import CloudTarget
from provisioning.qrsheet.layout import (
    QUIET_ZONE,
    CodeKind,
    Page,
    SheetRoom,
    layout_pages,
    place_qr,
    sheet_items,
)
from provisioning.qrsheet.render import png_scale
from tests.integration.provisioning.conftest import DemoCloud

A4_PX = (1240, 1754)  # 210 x 297 mm at 150 dpi
RECT = re.compile(r"n ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re f\*")


def segno_modules(text: str) -> list[list[bool]]:
    """segno's own matrix for text, with the quiet zone, independent of the sheet code."""
    inner = [[bool(v) for v in row] for row in segno.make(text, error="m", micro=False).matrix]
    blank = [False] * (len(inner) + 2 * QUIET_ZONE)
    pad = [False] * QUIET_ZONE
    return [blank] * QUIET_ZONE + [pad + row + pad for row in inner] + [blank] * QUIET_ZONE


async def _sheet(demo_cloud: DemoCloud, out: Path, kinds: list[CodeKind]) -> tuple[str, list[Page]]:
    """Write the sheet of Demo Store A as the command does; return its console output and expected pages."""
    console = Console(file=io.StringIO(), width=200)
    target = CloudTarget(demo_cloud.server.http_url, demo_cloud.seed.api_token)
    code = await run_qr_sheet(console, "Demo Store A", lambda: target, out=out, kinds=kinds, order_base=None)
    assert code == EXIT_OK
    store = demo_cloud.seed.store("Demo Store A")
    rooms = [SheetRoom(r["room_id"], r["name"], r["code"]) for r in await demo_cloud.api.room_codes(store.id)]
    items = sheet_items(store.id, rooms, base_url=demo_cloud.server.http_url, kinds=kinds)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return str(output), layout_pages(items, store_name=store.name)


async def test_the_png_sheet_draws_segnos_matrix_for_every_room(
    demo_cloud: DemoCloud, tmp_path: Path
) -> None:
    out = tmp_path / "sheets" / "sheet.png"
    output, pages = await _sheet(demo_cloud, out, [CodeKind.SCAN, CodeKind.ORDER])
    assert "12 code(s) for 6 room(s)" in output
    files = [out, out.with_name("sheet-2.png")]
    assert sorted(out.parent.iterdir()) == sorted(files)
    scale = png_scale()
    texts = []
    for page, file in zip(pages, files, strict=True):
        with Image.open(file) as image:
            assert image.format == "PNG" and image.size == A4_PX
            assert round(image.info["dpi"][0]) == 150
            pixels = image.convert("L").load()
            assert pixels is not None
            for cell in page.cells:
                expected = segno_modules(cell.item.text)
                spot = place_qr(
                    cell.qr_x * scale,
                    cell.qr_y * scale,
                    cell.qr_size * scale,
                    len(expected),
                    whole_units=True,
                )
                step = int(spot.module)
                drawn = [
                    [
                        pixels[int(spot.x) + c * step + step // 2, int(spot.y) + r * step + step // 2] < 128
                        for c in range(len(expected))
                    ]
                    for r in range(len(expected))
                ]
                assert drawn == expected, cell.item.text
                texts.append(cell.item.text)
    store = demo_cloud.seed.store("Demo Store A")
    # The printed scan codes are sealed: each verifies with the store's key and names its room.
    async with demo_cloud.server.sessionmaker() as session:
        keys = await keyring.load_keys(session, demo_cloud.server.cipher, store.id)
    scanned = {verify_room_code(t, store.id, keys).room_id for t in texts if is_room_code(t)}
    assert scanned == {room.id for room in store.rooms}
    assert f"{demo_cloud.server.http_url}/order/{store.id}/{store.room('KTV 1').id}" in texts


async def test_the_pdf_sheet_is_a4_with_every_code_drawn_listed_and_linked(
    demo_cloud: DemoCloud, tmp_path: Path
) -> None:
    out = tmp_path / "sheet.pdf"
    _, pages = await _sheet(demo_cloud, out, [CodeKind.SCAN, CodeKind.ORDER])
    reader = PdfReader(out)
    assert len(reader.pages) == len(pages) == 2
    keywords = str(reader.metadata["/Keywords"]).split(", ") if reader.metadata else []
    assert keywords == [cell.item.text for page in pages for cell in page.cells]
    for pdf_page, page in zip(reader.pages, pages, strict=True):
        assert (float(pdf_page.mediabox.width), float(pdf_page.mediabox.height)) == (595.2756, 841.8898)
        height = page.size[1]
        rects = [
            tuple(float(v) for v in m.groups())
            for m in RECT.finditer(pdf_page.get_contents().get_data().decode("latin-1"))
        ]
        for cell in page.cells:
            expected = segno_modules(cell.item.text)
            module = cell.qr_size / len(expected)
            drawn = [[False] * len(expected) for _ in expected]
            for x, y, w, h in rects:
                top = height - y - h
                if not (
                    cell.qr_x - 0.01 <= x <= cell.qr_x + cell.qr_size
                    and cell.qr_y - 0.01 <= top <= cell.qr_y + cell.qr_size
                ):
                    continue
                row, col = round((top - cell.qr_y) / module), round((x - cell.qr_x) / module)
                for c in range(col, col + round(w / module)):
                    drawn[row][c] = True
            assert drawn == expected, cell.item.text
        links = [a.get_object()["/A"]["/URI"] for a in pdf_page.get("/Annots", [])]
        assert links == [c.item.text for c in page.cells if c.item.kind is CodeKind.ORDER]


async def test_only_the_scan_codes_make_one_page(demo_cloud: DemoCloud, tmp_path: Path) -> None:
    out = tmp_path / "rooms.pdf"
    _, pages = await _sheet(demo_cloud, out, [CodeKind.SCAN])
    assert len(PdfReader(out).pages) == len(pages) == 1
    assert all(is_room_code(c.item.text) for c in pages[0].cells)
