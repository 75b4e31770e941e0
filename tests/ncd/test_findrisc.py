"""FINDRISC against the item points and bands of its source (Lindström & Tuomilehto, Diabetes Care
2003;26:725-31; the FINDRISC form of the Finnish Diabetes Association, 0-26 points)."""

import numpy as np
import pytest

from songkhoe.ncd.scores import findrisc, findrisc_band, score_person

ITEMS = (
    "sex", "age", "bmi", "waist_cm", "physically_active", "daily_vegetables", "bp_medication",
    "history_high_glucose", "family_diabetes",
)  # fmt: skip


def _score(**person: object) -> tuple[float, str]:
    points, band = findrisc(*[np.array([person[item]]) for item in ITEMS])
    return float(points[0]), str(band[0])


def test_worked_example_high() -> None:
    """Man of 58 (55-64: 3), BMI 27 (25-30: 1), waist 100 cm (men 94-102: 3), not active 30 min a
    day (2), vegetables every day (0), on antihypertensive drugs (2), no high glucose found (0), a
    parent with diabetes (first degree: 5): 16 points, band 15-20 "high" (about 1 in 3)."""
    assert _score(
        sex="male", age=58, bmi=27, waist_cm=100, physically_active=0, daily_vegetables=1,
        bp_medication=1, history_high_glucose=0, family_diabetes="first",
    ) == (16.0, "high")  # fmt: skip


def test_worked_example_lowest_and_highest() -> None:
    """Woman of 40, BMI 22, waist 75, active, vegetables daily, no drugs, no high glucose, no
    family history: 0 points, "low". Man of 70 (4), BMI 35 (3), waist 110 (4), inactive (2), no
    daily vegetables (1), drugs (2), high glucose (5), first-degree family (5): 26, "very_high"."""
    assert _score(
        sex="female", age=40, bmi=22, waist_cm=75, physically_active=1, daily_vegetables=1,
        bp_medication=0, history_high_glucose=0, family_diabetes="none",
    ) == (0.0, "low")  # fmt: skip
    assert _score(
        sex="male", age=70, bmi=35, waist_cm=110, physically_active=0, daily_vegetables=0,
        bp_medication=1, history_high_glucose=1, family_diabetes="first",
    ) == (26.0, "very_high")  # fmt: skip


def test_waist_cut_offs_depend_on_sex() -> None:
    """Women 80-88: 3, >88: 4; men <94: 0. A waist of 90 cm: 4 points for a woman, 0 for a man;
    second-degree family history (a grandparent, aunt, uncle or first cousin): 3."""
    base = dict(
        age=40, bmi=22, waist_cm=90, physically_active=1, daily_vegetables=1, bp_medication=0,
        history_high_glucose=0, family_diabetes="second",
    )  # fmt: skip
    assert _score(sex="female", **base) == (7.0, "slightly_elevated")
    assert _score(sex="male", **base) == (3.0, "low")


@pytest.mark.parametrize(
    ("age", "bmi", "waist", "points"),
    [
        (44.9, 24.9, 93.9, 0),
        (45, 25, 94, 6),
        (54, 30, 102, 6),
        (55, 30.1, 102.1, 10),
        (65, 31, 110, 11),
    ],
)
def test_band_edges_of_age_bmi_and_waist(age: float, bmi: float, waist: float, points: int) -> None:
    score, _ = _score(
        sex="male", age=age, bmi=bmi, waist_cm=waist, physically_active=1, daily_vegetables=1,
        bp_medication=0, history_high_glucose=0, family_diabetes="none",
    )  # fmt: skip
    assert score == points


def test_bands() -> None:
    """<7 low, 7-11 slightly elevated, 12-14 moderate, 15-20 high, >20 very high."""
    points = [0, 6, 7, 11, 12, 14, 15, 20, 21, 26, np.nan]
    assert findrisc_band(points).tolist() == [
        "low", "low", "slightly_elevated", "slightly_elevated", "moderate", "moderate", "high",
        "high", "very_high", "very_high", "",
    ]  # fmt: skip


def test_a_missing_item_gives_no_score() -> None:
    person = score_person(sex="male", age=58, bmi=27, waist_cm=100, physically_active=False)
    assert person.findrisc_points is None
    assert person.findrisc_band == ""


def test_the_per_person_wrapper_agrees() -> None:
    person = score_person(
        sex="male", age=58, bmi=27, waist_cm=100, physically_active=False, daily_vegetables=True,
        bp_medication=True, history_high_glucose=False, family_diabetes="first",
    )  # fmt: skip
    assert (person.findrisc_points, person.findrisc_band) == (16, "high")
