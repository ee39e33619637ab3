"""Printable QR sheets of a store's rooms: scan codes for staff, ordering codes for tables."""

from __future__ import annotations

from provisioning.qrsheet.layout import (
    CodeKind,
    Page,
    QrItem,
    SheetRoom,
    layout_pages,
    order_url,
    qr_matrix,
    sheet_items,
)
from provisioning.qrsheet.render import render_pdf, render_png

__all__ = [
    "CodeKind",
    "Page",
    "QrItem",
    "SheetRoom",
    "layout_pages",
    "order_url",
    "qr_matrix",
    "render_pdf",
    "render_png",
    "sheet_items",
]
