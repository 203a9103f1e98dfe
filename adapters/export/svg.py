"""A table's chart as an SVG picture, written by hand: horizontal bars (per school, per
cause), or a line (per week). The charts of the reports are bars and a line with their
labels — a plotting library (matplotlib: tens of megabytes, a second to import) would draw
nothing these few lines do not; browsers show SVG as it is, and the spreadsheet draws
its own native charts."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from booking.services.reports.tables import Table

WIDTH = 720
LABEL = 260  # the width of the category labels of a bar chart
BAR, GAP = 18, 6
COLOUR = "#4F81BD"


def chart_svg(table: Table) -> str:
    """The table's chart (`table.chart`) as an SVG document; a note when it has none."""
    chart = table.chart
    if chart is None:
        return _svg(60, [_text(10, 30, f"{table.title}: нет диаграммы", 14)])
    points = [
        (str(row[chart.category]), row[chart.value])
        for row in table.rows
        if row[chart.value] is not None
    ]
    numbers = [float(v) for _, v in points]
    top = 1.0 if chart.share else max(numbers, default=0.0) or 1.0
    if chart.kind == "line":
        return _line(chart.title, points, top, chart.share)
    return _bars(chart.title, points, top, chart.share)


def _bars(title: str, points: Sequence[tuple[str, float]], top: float, share: bool) -> str:
    height = 50 + len(points) * (BAR + GAP) + 20
    room = WIDTH - LABEL - 80
    parts = [_text(10, 24, title, 15, bold=True)]
    for n, (label, value) in enumerate(points):
        y = 44 + n * (BAR + GAP)
        length = max(0.0, float(value)) / top * room
        parts.append(_text(LABEL - 8, y + BAR - 4, _short(label), 12, anchor="end"))
        parts.append(
            f'<rect x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR}" fill="{COLOUR}"/>'
        )
        parts.append(_text(LABEL + length + 6, y + BAR - 4, _value(value, share), 12))
    return _svg(height, parts)


def _line(title: str, points: Sequence[tuple[str, float]], top: float, share: bool) -> str:
    height, left, bottom = 320, 60, 270
    room_x, room_y = WIDTH - left - 40, bottom - 50
    parts = [_text(10, 24, title, 15, bold=True)]
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 20}" y2="{bottom}" stroke="#888"/>')
    step = room_x / max(1, len(points) - 1)
    coords = []
    for n, (label, value) in enumerate(points):
        x = left + n * step
        y = bottom - float(value) / top * room_y
        coords.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOUR}"/>')
        parts.append(_text(x, y - 10, _value(value, share), 12, anchor="middle"))
        parts.append(_text(x, bottom + 18, _short(label, 12), 11, anchor="middle"))
    if coords:
        line = " ".join(coords)
        style = f'fill="none" stroke="{COLOUR}" stroke-width="2"'
        parts.insert(1, f'<polyline points="{line}" {style}/>')
    return _svg(height, parts)


def _value(value: float, share: bool) -> str:
    return f"{float(value) * 100:.0f}%" if share else f"{value:g}"


def _short(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _text(
    x: float, y: float, text: str, size: int, *, anchor: str = "start", bold: bool = False
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{weight}>'
        f"{escape(text)}</text>"
    )


def _svg(height: int, parts: Sequence[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">\n{body}\n</svg>\n'
    )
