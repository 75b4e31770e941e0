"""RR-only atrial-fibrillation detection for beat times (Holter, patch, a watch's pulse): AF or
not per window. Windows are consecutive, `window_s` long (default 30 s), from the first beat;
a last window shorter than half the length is dropped. A window holds the RR intervals that end
inside it (start < beat time <= end).

Each window's RR features (`rr.py`: rate, spread, normalised RMSSD, relative successive
differences, turning point ratio, Shannon and sample entropy, COSEn, Poincaré SD1/SD2, ΔRR
scatter occupancy) are combined by a logistic regression fitted by `scripts/train_ecg.py` on RR
series built from the shared Challenge 2017 recordings (N, A and O joined end to end), its
threshold set where 97 % of the training's non-AF windows fall below it; shipped as
`model/af_rr.json` with the sensitivity and specificity measured on series built from the
held-out recordings. Limitation: the O recordings it learnt from include beats missed or added
by noise, so RR series far more irregular than AF's (coefficient of variation above 0.3) are
not always called AF. Published anchors for such detectors on the MIT-BIH AF database: Tateno &
Glass 2001 (Med Biol Eng Comput 39:664-671, 94.4 % sensitivity, 97.2 % specificity) and Petrėnas et
al. 2015 (Comput Biol Med 65:184-191, 97.1 % / 98.3 %). A window with fewer than 4 intervals
is not AF (too few beats to judge).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from songkhoe.ecg.model import MODEL_DIR, ModelError, read_json
from songkhoe.ecg.rr import RR_FEATURES, rr_features

DEFAULT_WINDOW_S = 30.0
MIN_INTERVALS = 4


class InvalidBeats(ValueError):
    """Beat times that cannot be windowed; the message says why."""


@dataclass(frozen=True, slots=True)
class Window:
    start_s: float
    end_s: float
    intervals: int
    af_probability: float  # NaN with fewer than MIN_INTERVALS intervals
    af: bool


@dataclass(frozen=True, slots=True)
class RRModel:
    """The logistic regression of `af_rr.json`."""

    fill: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    threshold: float

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> "RRModel":
        if tuple(spec["features"]) != RR_FEATURES:
            raise ModelError("af_rr.json was fitted on other RR features than these")
        arrays = {
            k: np.asarray(spec[k], dtype=np.float64)
            for k in ("fill", "mean", "scale", "coefficients")
        }
        return cls(**arrays, intercept=float(spec["intercept"]), threshold=float(spec["threshold"]))

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> "RRModel":
        return cls.from_dict(read_json(folder / "af_rr.json"))

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """AF probability of rows of RR_FEATURES (NaN filled with the training median)."""
        x = np.where(np.isnan(rows), self.fill, rows)
        z = ((x - self.mean) / self.scale) @ self.coefficients + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


def checked_times(times: Sequence[float] | np.ndarray) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.size < 2:
        raise InvalidBeats("fewer than two beat times")
    if not np.isfinite(t).all():
        raise InvalidBeats("a beat time is not a number")
    steps = np.diff(t)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 2
        raise InvalidBeats(f"beat {row} is not later than the one before it")
    return t


def windows(times: np.ndarray, window_s: float) -> list[tuple[float, float]]:
    """(start, end) of the windows over beat times (see the module doc)."""
    if not window_s > 0:
        raise InvalidBeats(f"the window must be longer than 0 s, got {window_s:g}")
    first, last = float(times[0]), float(times[-1])
    found = []
    start = first
    while start < last:
        end = min(start + window_s, last)
        if end - start >= window_s / 2:
            found.append((start, end))
        start += window_s
    return found


def detect(
    times: Sequence[float] | np.ndarray,
    window_s: float = DEFAULT_WINDOW_S,
    model: RRModel | None = None,
) -> list[Window]:
    """AF or not for each window of the beat times (seconds)."""
    t = checked_times(times)
    model = model or RRModel.load()
    rr, ends = np.diff(t), t[1:]
    found = []
    for start, end in windows(t, window_s):
        inside = rr[(ends > start) & (ends <= end)]
        if inside.size < MIN_INTERVALS:
            found.append(Window(start, end, int(inside.size), float("nan"), False))
            continue
        p = float(model.probability(rr_features(inside)[None, :])[0])
        found.append(Window(start, end, int(inside.size), p, p >= model.threshold))
    return found
