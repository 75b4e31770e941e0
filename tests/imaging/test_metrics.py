"""Validation measures against brute force and textbook values."""

import itertools

import numpy as np
import pytest

from songkhoe.imaging.metrics import auc, bootstrap_auc, evaluate, wilson


def pairwise_auc(labels, scores) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    return float(np.mean(wins))


def test_auc_is_the_pairwise_probability_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 80)
    scores = np.round(rng.random(80) + 0.3 * labels, 1)  # rounding makes ties
    assert auc(labels, scores) == pytest.approx(pairwise_auc(labels, scores), abs=1e-12)
    low, high = bootstrap_auc(labels, scores, resamples=500)
    assert low < auc(labels, scores) < high


def test_wilson_interval_textbook_value():
    low, high = wilson(8, 10)  # Newcombe 1998, table I: 0.4902 to 0.9433
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


def test_operating_point_and_who_target():
    labels = np.array([1] * 10 + [0] * 10)
    scores = np.array([0.9] * 9 + [0.2] + [0.1] * 7 + [0.6] * 3)
    result = evaluate(labels, scores, 0.5)
    assert (result.sensitivity, result.specificity) == (0.9, 0.7) and result.meets_who_target
    assert result.threshold_for_90_sensitivity == 0.9
    assert evaluate(labels, scores, 0.95).meets_who_target is False
    with pytest.raises(ValueError, match="both with and without"):
        evaluate(np.ones(5), np.ones(5), 0.5)
