"""Headless Debian chromium for the browser tests, and where their screenshots go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import segno
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/lib/chromium/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".gatehouse" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@asynccontextmanager
async def chromium(*, camera: Path | None = None) -> AsyncIterator[Browser]:
    """A headless chromium, closed on exit; with `camera`, a Y4M video its camera shows (see qr_video)."""
    args = list(ARGS)
    if camera is not None:
        args += [
            "--use-fake-ui-for-media-stream",  # allow the camera without asking
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save the page, whole, as .gatehouse/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def qr_video(text: str, path: Path, *, width: int = 640, height: int = 480, frames: int = 5) -> Path:
    """A still Y4M video of `text` as a QR code, black on white, for chromium's fake camera."""
    rows = [bytes(255 * (1 - bit) for bit in row) for row in segno.make(text, error="m").matrix_iter(scale=8)]
    if len(rows) > height or len(rows[0]) > width:
        raise ValueError("the QR code does not fit the frame")
    top, left = (height - len(rows)) // 2, (width - len(rows[0])) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y, row in enumerate(rows):
        start = (top + y) * width + left
        luma[start : start + len(row)] = row
    chroma = b"\x80" * ((width // 2) * (height // 2) * 2)  # no colour (4:2:0)
    frame = b"FRAME\n" + bytes(luma) + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)
    return path
