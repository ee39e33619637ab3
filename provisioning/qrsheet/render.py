"""Drawing QR sheets: PDF (reportlab, vector modules, one page per sheet page) and PNG (Pillow, 150 dpi).

A PNG file holds one page: a sheet of several pages is written as `sheet.png`, `sheet-2.png`, ...
The PDF carries every code's text in its Keywords and each ordering URL as a link.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from provisioning.qrsheet.layout import CodeKind, Page, dark_runs, place_qr, qr_matrix

logger = logging.getLogger(__name__)

PNG_DPI = 150
LATIN_FONT = "Helvetica"
CJK_FONT = "STSong-Light"  # a CID font every PDF viewer can show without embedding
# TrueType fonts tried in order for PNG labels (the first that exists wins).
PNG_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _fit(text: str, fits: int) -> str:
    """text cut to `fits` characters with an ellipsis."""
    return text if len(text) <= fits else text[: max(1, fits - 1)] + "…"


def page_paths(path: Path, pages: int) -> list[Path]:
    """The PNG files of a sheet: path itself for page 1, then `<stem>-2<suffix>`, ..."""
    return [path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(1, pages + 1)]


# ---------------------------------------------------------------- PNG


@cache
def _png_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in PNG_FONTS:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def png_scale(dpi: int = PNG_DPI) -> float:
    """Pixels per PDF point at dpi."""
    return dpi / 72.0


def render_png(pages: Sequence[Page], path: Path, *, dpi: int = PNG_DPI) -> list[Path]:
    """Draw each page as a 1-bit-clean greyscale PNG at dpi; return the files written."""
    scale = png_scale(dpi)
    written = []
    for page, target in zip(pages, page_paths(path, len(pages)), strict=True):
        width, height = (round(v * scale) for v in page.size)
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        draw.text((36 * scale, 24 * scale), page.title, fill=0, font=_png_font(round(14 * scale)))
        for cell in page.cells:
            box = [
                cell.x * scale,
                cell.y * scale,
                (cell.x + cell.width) * scale,
                (cell.y + cell.height) * scale,
            ]
            draw.rectangle(box, outline=200, width=1)
            matrix = qr_matrix(cell.item.text)
            spot = place_qr(
                cell.qr_x * scale, cell.qr_y * scale, cell.qr_size * scale, len(matrix), whole_units=True
            )
            step = int(spot.module)
            for r, row in enumerate(matrix):
                top = int(spot.y) + r * step
                for start, length in dark_runs(row):
                    left = int(spot.x) + start * step
                    draw.rectangle([left, top, left + length * step - 1, top + step - 1], fill=0)
            label_y = (cell.qr_y + cell.qr_size + 6) * scale
            centre = (cell.x + cell.width / 2) * scale
            draw.text(
                (centre, label_y),
                _fit(cell.item.title, 22),
                fill=0,
                font=_png_font(round(12 * scale)),
                anchor="ma",
            )
            small = _png_font(round(7 * scale))
            draw.text((centre, label_y + 16 * scale), cell.item.caption, fill=80, font=small, anchor="ma")
            draw.text(
                (centre, label_y + 26 * scale), _fit(cell.item.text, 48), fill=80, font=small, anchor="ma"
            )
        image.save(target, format="PNG", dpi=(dpi, dpi))
        written.append(target)
    logger.info("qr sheet written", extra={"format": "png", "files": len(written)})
    return written


# ---------------------------------------------------------------- PDF


def _needs_cjk(text: str) -> bool:
    return any(ord(ch) > 0xFF for ch in text)


@cache
def _cjk_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def _font(text: str) -> str:
    return _cjk_font() if _needs_cjk(text) else LATIN_FONT


def render_pdf(pages: Sequence[Page], path: Path, *, title: str) -> Path:
    """Draw the pages into one PDF (QR modules as filled rectangles); every code's text in Keywords."""
    size = pages[0].size if pages else (595.2756, 841.8898)
    pdf = canvas.Canvas(str(path), pagesize=size, invariant=True, pageCompression=0)
    pdf.setTitle(title)
    pdf.setAuthor("Gatehouse")
    pdf.setCreator("gatehouse provision qr-sheet")
    pdf.setSubject("room scan codes and ordering codes")
    pdf.setKeywords(", ".join(cell.item.text for page in pages for cell in page.cells))
    for page in pages:
        height = page.size[1]
        pdf.setPageSize(page.size)
        pdf.setFont(_font(page.title), 14)
        pdf.drawString(36, height - 36 - 14, page.title)
        for cell in page.cells:
            pdf.setStrokeGray(0.8)
            pdf.setDash(3, 3)
            pdf.rect(cell.x, height - cell.y - cell.height, cell.width, cell.height, stroke=1, fill=0)
            pdf.setDash()
            matrix = qr_matrix(cell.item.text)
            spot = place_qr(cell.qr_x, cell.qr_y, cell.qr_size, len(matrix))
            pdf.setFillGray(0)
            for r, row in enumerate(matrix):
                top = spot.y + r * spot.module
                for start, length in dark_runs(row):
                    pdf.rect(
                        spot.x + start * spot.module,
                        height - top - spot.module,
                        length * spot.module,
                        spot.module,
                        stroke=0,
                        fill=1,
                    )
            if cell.item.kind is CodeKind.ORDER:
                bottom = height - cell.qr_y - cell.qr_size
                pdf.linkURL(
                    cell.item.text, (cell.qr_x, bottom, cell.qr_x + cell.qr_size, bottom + cell.qr_size)
                )
            centre = cell.x + cell.width / 2
            label_y = height - (cell.qr_y + cell.qr_size + 6) - 12
            name = _fit(cell.item.title, 22)
            pdf.setFont(_font(name), 12)
            pdf.drawCentredString(centre, label_y, name)
            pdf.setFillGray(0.3)
            pdf.setFont(LATIN_FONT, 7)
            pdf.drawCentredString(centre, label_y - 12, cell.item.caption)
            pdf.drawCentredString(centre, label_y - 21, _fit(cell.item.text, 48))
            pdf.setFillGray(0)
        pdf.showPage()
    pdf.save()
    logger.info("qr sheet written", extra={"format": "pdf", "pages": len(pages)})
    return path
