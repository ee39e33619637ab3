"""Small charts drawn on the server as SVG (bars and lines): no script, no chart library, print-friendly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 12, 24, 40
COLOR = "#1f6feb"

Format = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:g}"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _frame(title: str, labels: Sequence[str], top: float, fmt: Format) -> list[str]:
    # The axis shows round numbers: a short form keeps them inside the left margin.
    fmt = compact if fmt is yuan else fmt
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [f'<text x="{PAD_LEFT}" y="15" class="chart-title">{escape(title)}</text>']
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + inner_h - inner_h * i / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee7"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="chart-axis">'
            f"{escape(fmt(value))}</text>"
        )
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(labels), 1)
    every = max(1, round(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = PAD_LEFT + slot * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" class="chart-axis">'
            f"{escape(label)}</text>"
        )
    return parts


def _svg(title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], fmt: Format = _plain, color: str = COLOR
) -> Markup:
    """Vertical bars, one per label (each bar's value in its tooltip)."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    top = _nice_max(max(values, default=0))
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(labels), 1)
    parts = _frame(title, labels, top, fmt)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = inner_h * max(value, 0) / top
        x = PAD_LEFT + slot * i + slot * 0.15
        y = PAD_TOP + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{escape(color)}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
    return _svg(title, parts)


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    fmt: Format = _plain,
    top: float | None = None,
) -> Markup:
    """A line through the values (None leaves a gap), with a dot and tooltip at each point."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    top = top if top is not None else _nice_max(max((v for v in values if v is not None), default=0))
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(labels), 1)
    parts = _frame(title, labels, top, fmt)
    runs: list[list[str]] = [[]]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            runs.append([])
            continue
        x = PAD_LEFT + slot * (i + 0.5)
        y = PAD_TOP + inner_h - inner_h * min(max(value, 0), top) / top
        runs[-1].append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOR}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
        )
    for run in runs:
        if len(run) > 1:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{COLOR}" stroke-width="2"/>'
            )
    return _svg(title, parts)


def percent(value: float) -> str:
    """0.4567 -> "46%"."""
    return f"{value * 100:.0f}%"


def compact(fen: float) -> str:
    """Fen as short yuan for an axis: 250000 -> "¥2.5k"."""
    value = fen / 100
    if abs(value) >= 1000:
        return f"¥{value / 1000:g}k"
    return f"¥{value:g}"


def yuan(fen: float) -> str:
    """Fen as yuan: 123456 -> "¥1,234.56"."""
    return f"¥{fen / 100:,.2f}"
