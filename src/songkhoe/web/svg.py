"""Small trend charts drawn on the server as inline SVG: no chart library, a few hundred bytes per
chart, readable without JavaScript and under the strict CSP (presentation attributes and CSS
classes only, no style attributes).

A chart is a time axis (dates) with one or more series of values and optional reference lines
(e.g. 140 mmHg); every point carries a <title> with its date and value (the browser's tooltip).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 600, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 24


@dataclass(frozen=True, slots=True)
class Series:
    """Points (day, value) of one line; `css` names its colour class (see app.css `.chart`)."""

    label: str
    points: Sequence[tuple[date, float]]
    css: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A horizontal line at `value` (a threshold), labelled."""

    value: float
    label: str


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 20 or value == int(value) else f"{value:.1f}"


def trend(
    title: str,
    series: Sequence[Series],
    references: Sequence[Reference] = (),
    *,
    unit: str,
) -> Markup:
    """An SVG line chart of `series` over time, or an empty Markup when there is no point."""
    points = [p for s in series for p in s.points]
    if not points:
        return Markup("")
    values = [v for _, v in points] + [r.value for r in references]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.1, 1.0)
    low, high = low - pad, high + pad
    first = min(d for d, _ in points).toordinal()
    last = max(d for d, _ in points).toordinal()
    span = max(last - first, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        if last == first:
            return LEFT + plot_w / 2
        return LEFT + (day.toordinal() - first) / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="axis" x="{LEFT - 4}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
    for ref in references:
        parts.append(
            f'<line class="ref" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(ref.value):.1f}" '
            f'y2="{y(ref.value):.1f}"/><text class="ref" x="{WIDTH - RIGHT}" '
            f'y="{y(ref.value) - 3:.1f}" text-anchor="end">{escape(ref.label)}</text>'
        )
    for day, anchor in ((date.fromordinal(first), "start"), (date.fromordinal(last), "end")):
        if anchor == "end" and last == first:
            break
        parts.append(
            f'<text class="axis" x="{x(day):.1f}" y="{HEIGHT - 6}" '
            f'text-anchor="{anchor if last != first else "middle"}">{day.isoformat()}</text>'
        )
    for s in series:
        ordered = sorted(s.points)
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in ordered)
        parts.append(f'<g class="{s.css}"><polyline points="{path}"/>')
        for d, v in ordered:
            parts.append(
                f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3.5"><title>'
                f"{escape(s.label)} {d.isoformat()}: {_fmt(v)} {escape(unit)}</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[float | None], label: str) -> Markup:
    """A tiny line (80x20) of a monthly series, gaps where a value is None."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return Markup("")
    low, high = min(known), max(known)
    scale = (high - low) or 1.0
    step = 78 / max(len(values) - 1, 1)
    points = " ".join(
        f"{1 + i * step:.1f},{19 - (v - low) / scale * 18:.1f}"
        for i, v in enumerate(values)
        if v is not None
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 80 20" role="img" aria-label="{escape(label)}">'
        f'<title>{escape(label)}</title><polyline points="{points}"/></svg>'
    )
