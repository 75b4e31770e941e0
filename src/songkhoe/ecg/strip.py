"""A recording drawn as a paper rhythm strip, in inline SVG whose user unit is the millimetre:
the standard grid of 25 mm/s and 10 mm/mV (AHA/ACCF/HRS recommendations for the standardization
and interpretation of the ECG, Part I, Kligfield et al., Circulation 2007: small squares of
1 mm = 40 ms and 0.1 mV, big squares of 5 mm = 200 ms and 0.5 mV), one row per `ROW_S`
seconds, each R-peak marked with a triangle above the trace and a <title> with its time.

Presentation attributes only (no style attributes: the strict CSP). Samples above `MAX_DRAWN_HZ`
are thinned by taking every k-th one (at 250 Hz a point every 0.1 mm; a QRS of 80 ms keeps 20
points); each row's baseline is its median, and the trace is clipped to its row (±1.5 mV)."""

from collections.abc import Sequence
from html import escape

import numpy as np

MM_PER_S = 25.0
MM_PER_MV = 10.0
ROW_S = 10.0
ROW_MM = 30.0
MAX_DRAWN_HZ = 250.0
MINOR, MAJOR = "#f3c7c7", "#e08a8a"


def _grid(width: float, height: float) -> list[str]:
    lines = []
    for i in range(int(width) + 1):
        colour, w = (MAJOR, 0.2) if i % 5 == 0 else (MINOR, 0.08)
        lines.append(f'<line x1="{i}" y1="0" x2="{i}" y2="{height:g}" stroke="{colour}" '
                     f'stroke-width="{w}"/>')  # fmt: skip
    for j in range(int(height) + 1):
        colour, w = (MAJOR, 0.2) if j % 5 == 0 else (MINOR, 0.08)
        lines.append(f'<line x1="0" y1="{j}" x2="{width:g}" y2="{j}" stroke="{colour}" '
                     f'stroke-width="{w}"/>')  # fmt: skip
    return lines


def strip_svg(lead: np.ndarray, fs: float, r_peaks_s: Sequence[float], label: str) -> str:
    """SVG of one lead (mV at `fs` Hz) with the R-peaks (seconds from its start) marked."""
    seconds = len(lead) / fs
    rows = max(1, int(np.ceil(seconds / ROW_S)))
    width, height = ROW_S * MM_PER_S, rows * ROW_MM
    step = max(1, int(np.ceil(fs / MAX_DRAWN_HZ)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ecg-strip" role="img" '
        f'viewBox="0 0 {width:g} {height:g}" width="{width:g}mm" height="{height:g}mm" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        *_grid(width, height),
    ]
    half = ROW_MM / 2
    for row in range(rows):
        start, stop = int(row * ROW_S * fs), int(min((row + 1) * ROW_S, seconds) * fs)
        piece = lead[start:stop]
        if piece.size == 0:
            continue
        middle = row * ROW_MM + half
        x = (np.arange(0, piece.size, step) / fs) * MM_PER_S
        y = middle - np.clip((piece[::step] - np.median(piece)) * MM_PER_MV, -half, half)
        points = " ".join(f"{a:.2f},{b:.2f}" for a, b in zip(x, y, strict=True))
        parts.append(
            f'<polyline class="ecg-trace" fill="none" stroke="#111" stroke-width="0.3" '
            f'points="{points}"/>'
        )
    for t in r_peaks_s:
        row = min(int(t // ROW_S), rows - 1)
        left, top = (t - row * ROW_S) * MM_PER_S - 1.0, row * ROW_MM + 1.0
        parts.append(
            f'<path class="ecg-r-peak" d="M{left:.2f},{top:.2f} h2 l-1,1.6 z" fill="#1565c0">'
            f"<title>R {t:.3f} s</title></path>"
        )
    parts.append("</svg>")
    return "".join(parts)
