"""Local validation of a screening model on a hospital's own films: discrimination (ROC AUC with
a bootstrap confidence interval), sensitivity and specificity at the operating point (Wilson
score intervals), and calibration (Brier score, expected calibration error over equal-width
bins, the reliability table). WHO's target product profile for TB screening asks for at least
90% sensitivity with at least 70% specificity (WHO consolidated guidelines on tuberculosis,
Module 2: screening, 2021).

AUC is the Mann-Whitney statistic with ties counted one half (Hanley & McNeil 1982); the interval
is the percentile bootstrap over films (Efron & Tibshirani 1993), resampling until both classes
are present; Wilson 1927 for proportions.
"""

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, rankdata

WHO_SENSITIVITY, WHO_SPECIFICITY = 0.90, 0.70


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs films with and without the finding")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = len(labels)
    found: list[float] = []
    while len(found) < resamples:
        pick = rng.integers(0, n, n)
        sample = labels[pick]
        if 0 < sample.sum() < n:
            found.append(auc(sample, scores[pick]))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(found, [tail, 100 - tail])
    return float(low), float(high)


def wilson(successes: int, total: int, level: float = 0.95) -> tuple[float, float]:
    if total == 0:
        return (float("nan"), float("nan"))
    z = norm.ppf(1 - (1 - level) / 2)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return float(centre - half), float(centre + half)


@dataclass(frozen=True, slots=True)
class Evaluation:
    films: int
    positives: int
    auc: float
    auc_ci: tuple[float, float]
    operating_point: float
    sensitivity: float
    sensitivity_ci: tuple[float, float]
    specificity: float
    specificity_ci: tuple[float, float]
    meets_who_target: bool
    threshold_for_90_sensitivity: float  # the highest threshold that keeps sensitivity ≥ 90%
    specificity_at_that_threshold: float
    brier: float
    ece: float
    calibration: list[dict]  # per bin: low, high, films, mean_score, observed

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def calibration_table(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            table.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "films": int(inside.sum()),
                    "mean_score": float(scores[inside].mean()),
                    "observed": float(labels[inside].mean()),
                }
            )
    return table


def evaluate(
    labels: np.ndarray, scores: np.ndarray, operating_point: float, *, seed: int = 0
) -> Evaluation:
    """All of the module's measures for binary `labels` (1: abnormal) and scores in 0..1."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    positives = labels == 1
    if positives.all() or not positives.any():
        raise ValueError("the labels need films both with and without the finding")
    called = scores >= operating_point
    tp, fn = int((called & positives).sum()), int((~called & positives).sum())
    tn, fp = int((~called & ~positives).sum()), int((called & ~positives).sum())
    sensitivity, specificity = tp / (tp + fn), tn / (tn + fp)
    ordered = np.sort(scores[positives])[::-1]
    keep = int(np.ceil(WHO_SENSITIVITY * len(ordered)))  # positives that must score at or above
    threshold = float(ordered[keep - 1])
    table = calibration_table(labels, scores)
    ece = sum(row["films"] * abs(row["mean_score"] - row["observed"]) for row in table)
    return Evaluation(
        films=len(labels),
        positives=int(positives.sum()),
        auc=auc(labels, scores),
        auc_ci=bootstrap_auc(labels, scores, seed=seed),
        operating_point=operating_point,
        sensitivity=sensitivity,
        sensitivity_ci=wilson(tp, tp + fn),
        specificity=specificity,
        specificity_ci=wilson(tn, tn + fp),
        meets_who_target=sensitivity >= WHO_SENSITIVITY and specificity >= WHO_SPECIFICITY,
        threshold_for_90_sensitivity=threshold,
        specificity_at_that_threshold=float((scores[~positives] < threshold).mean()),
        brier=float(np.mean((scores - labels) ** 2)),
        ece=float(ece / len(labels)),
        calibration=table,
    )
