"""Printable QR sheets of a store's rooms: scan codes for staff, ordering codes for tables."""

from __future__ import annotations

from provisioning.qrsheet.layout import (
    CodeKind,
    Page,
    QrItem,
    layout_pages,
    order_url,
    qr_matrix,
    room_scan_text,
    sheet_items,
)
from provisioning.qrsheet.render import render_pdf, render_png

__all__ = [
    "CodeKind",
    "Page",
    "QrItem",
    "layout_pages",
    "order_url",
    "qr_matrix",
    "render_pdf",
    "render_png",
    "room_scan_text",
    "sheet_items",
]
