"""Charts as SVG, rendered on the server: the dashboard needs no script and no third-party asset.

Each chart is an inline `<svg>` with a title, its scale's maximum, the first and last labels of
its x axis, and a `<title>` per bar or point (the browser shows it as a tooltip).
"""

from __future__ import annotations

from html import escape
from typing import List, Mapping, Sequence

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 26, 24
SERIES_CLASSES = ("series-a", "series-b", "series-c")


def number(value: float) -> str:
    """A figure as the dashboard writes it: integers with thousands separators, else one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _scale(values: Sequence[float]) -> float:
    top = max([0.0, *values])
    return top if top > 0 else 1.0


def _frame(title: str, name: str, top: float, labels: Sequence[str], body: List[str], unit: str) -> str:
    plot_bottom = HEIGHT - BOTTOM
    parts = [
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-title" x="{LEFT}" y="16">{escape(title)}</text>',
        f'<line class="axis" x1="{LEFT}" y1="{plot_bottom}" x2="{WIDTH - RIGHT}" y2="{plot_bottom}"/>',
        f'<line class="grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{escape(number(top))}{escape(unit)}</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{plot_bottom}" text-anchor="end">0</text>',
    ]
    if labels:
        parts.append(f'<text class="tick" x="{LEFT}" y="{HEIGHT - 6}">{escape(labels[0])}</text>')
        if len(labels) > 1:
            parts.append(
                f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{escape(labels[-1])}</text>'
            )
    return "".join([*parts, *body, "</svg>"])


def bar_chart(title: str, name: str, labels: Sequence[str], values: Sequence[float], unit: str = "") -> str:
    """One bar per label (e.g. per day)."""
    top = _scale(values)
    span = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    height = HEIGHT - TOP - BOTTOM
    bars = []
    for index, (label, value) in enumerate(zip(labels, values)):
        h = height * value / top
        x = LEFT + index * span + span * 0.1
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{span * 0.8:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {escape(number(value))}{escape(unit)}</title></rect>"
        )
    return _frame(title, name, top, labels, bars, unit)


def line_chart(title: str, name: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], unit: str) -> str:
    """One polyline per series (e.g. p50, p95, p99 per day), with a legend."""
    top = _scale([value for values in series.values() for value in values])
    count = max(len(labels), 1)
    step = (WIDTH - LEFT - RIGHT) / max(count - 1, 1)
    height = HEIGHT - TOP - BOTTOM
    body = []
    for number_of, (label, values) in enumerate(series.items()):
        css = SERIES_CLASSES[number_of % len(SERIES_CLASSES)]
        points = [(LEFT + i * step, HEIGHT - BOTTOM - height * v / top) for i, v in enumerate(values)]
        body.append(f'<polyline class="line {css}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        for (x, y), day, value in zip(points, labels, values):
            body.append(
                f'<circle class="point {css}" cx="{x:.1f}" cy="{y:.1f}" r="2.5">'
                f"<title>{escape(label)} {escape(day)}: {escape(number(value))}{escape(unit)}</title></circle>"
            )
        x = WIDTH - RIGHT - 70 * (len(series) - number_of)
        body.append(f'<text class="legend {css}" x="{x}" y="16">{escape(label)}</text>')
    return _frame(title, name, top, labels, body, unit)
