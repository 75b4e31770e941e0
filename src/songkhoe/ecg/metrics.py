"""Scoring rhythm labels against a reference: the confusion matrix, per-class F1, the PhysioNet/
CinC Challenge 2017 score (the mean F1 of N, A and O; Clifford et al. 2017, Comput Cardiol 44,
"AF classification from a short single lead ECG recording") and AF sensitivity and specificity
(A against all other labels) with percentile bootstrap 95 % intervals (records resampled with
replacement, 2,000 times, a fixed seed)."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CLASSES = ("N", "A", "O", "~")
SCORED = ("N", "A", "O")
BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_SEED = 2017


@dataclass(frozen=True, slots=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Scores:
    count: int
    confusion: list[list[int]]  # rows: reference, columns: predicted, in CLASSES order
    f1: dict[str, float]
    challenge: Interval
    af_sensitivity: Interval
    af_specificity: Interval

    def to_dict(self) -> dict:
        def interval(x: Interval) -> dict[str, float]:
            return {"value": x.value, "ci95_low": x.low, "ci95_high": x.high}

        return {
            "records": self.count,
            "classes": list(CLASSES),
            "confusion_rows_reference_columns_predicted": self.confusion,
            "f1": self.f1,
            "challenge_score": interval(self.challenge),
            "af_sensitivity": interval(self.af_sensitivity),
            "af_specificity": interval(self.af_specificity),
        }


def confusion(reference: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts (reference row, predicted column) over class indices 0..3."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(matrix, (reference, predicted), 1)
    return matrix


def f1_scores(matrix: np.ndarray) -> np.ndarray:
    """Per class 2 TP / (row total + column total), as the Challenge scores it; NaN for a class
    neither in the reference nor predicted."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * np.diag(matrix) / (matrix.sum(axis=0) + matrix.sum(axis=1))


def _af_rates(reference: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    af, called = reference == 1, predicted == 1
    sensitivity = float(called[af].mean()) if af.any() else float("nan")
    specificity = float((~called[~af]).mean()) if (~af).any() else float("nan")
    return sensitivity, specificity


def _challenge(reference: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.nanmean(f1_scores(confusion(reference, predicted))[:3]))


def indices(labels: Sequence[str]) -> np.ndarray:
    """Class indices of labels, or ValueError naming the first unknown one."""
    lookup = {c: i for i, c in enumerate(CLASSES)}
    try:
        return np.array([lookup[x] for x in labels], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"unknown rhythm label {exc.args[0]!r} (known: N, A, O, ~)") from None


def score(reference: Sequence[str], predicted: Sequence[str]) -> Scores:
    """All the scores of predicted labels against reference labels, in the same order."""
    if len(reference) != len(predicted) or not reference:
        raise ValueError("reference and predicted labels must be non-empty and pair up")
    ref, pred = indices(reference), indices(predicted)
    matrix = confusion(ref, pred)
    sensitivity, specificity = _af_rates(ref, pred)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = rng.integers(0, ref.size, size=(BOOTSTRAP_ROUNDS, ref.size))
    boot = np.array([(_challenge(ref[d], pred[d]), *_af_rates(ref[d], pred[d])) for d in draws])
    low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    f1 = f1_scores(matrix)
    return Scores(
        count=int(ref.size),
        confusion=matrix.tolist(),
        f1={c: round(float(v), 4) for c, v in zip(CLASSES, f1, strict=True)},
        challenge=Interval(_challenge(ref, pred), float(low[0]), float(high[0])),
        af_sensitivity=Interval(sensitivity, float(low[1]), float(high[1])),
        af_specificity=Interval(specificity, float(low[2]), float(high[2])),
    )
