"""The Challenge 2017 scoring on a hand-worked example."""

import pytest

from songkhoe.ecg.metrics import score


def test_scores_of_a_worked_example():
    reference = ["N"] * 5 + ["A"] * 3 + ["O"] * 2 + ["~"]
    predicted = ["N", "N", "N", "N", "O"] + ["A", "A", "N"] + ["O", "A"] + ["~"]
    s = score(reference, predicted)
    # Confusion (rows reference N, A, O, ~; columns predicted):
    #   N: 4 0 1 0   A: 1 2 0 0   O: 0 1 1 0   ~: 0 0 0 1
    assert s.confusion == [[4, 0, 1, 0], [1, 2, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]
    # F1 = 2 TP / (reference total + predicted total):
    #   N: 2·4 / (5 + 5) = 0.8;  A: 2·2 / (3 + 3) = 0.6667;  O: 2·1 / (2 + 2) = 0.5;  ~: 1.
    assert s.f1 == {"N": 0.8, "A": 0.6667, "O": 0.5, "~": 1.0}
    # Challenge score: (0.8 + 0.6667 + 0.5) / 3 = 0.6556.
    assert s.challenge.value == pytest.approx(0.65556, abs=1e-4)
    # AF: 2 of 3 AF called A (sensitivity 0.6667); of the 8 others one (an O) was called A:
    # specificity 7/8 = 0.875.
    assert s.af_sensitivity.value == pytest.approx(2 / 3)
    assert s.af_specificity.value == pytest.approx(0.875)
    assert s.af_specificity.low <= 0.875 <= s.af_specificity.high
    assert s.challenge.low < s.challenge.value < s.challenge.high


def test_unknown_label_is_named():
    with pytest.raises(ValueError, match="unknown rhythm label 'X'"):
        score(["N", "X"], ["N", "N"])
