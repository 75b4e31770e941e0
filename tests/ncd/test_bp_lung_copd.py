"""BP grade, lung-cancer CT eligibility and COPD-PS against the thresholds of their sources."""

import numpy as np
import pytest

from songkhoe.ncd.scores import bp_grade, copd_ps, lung_ct_eligible, lung_ct_known, score_person

READINGS = [(118, 78), (125, 82), (135, 70), (145, 85), (150, 105), (185, 95), (120, 112)]


def test_vietnamese_grid() -> None:
    """VSH/VNHA clinic grid: optimal <120/<80, normal 120-129/80-84, high normal 130-139/85-89,
    grade 1 140-159/90-99, grade 2 160-179/100-109, grade 3 >=180/>=110; the higher of the two
    grades counts (150/105 is grade 2 by its DBP)."""
    sbp, dbp = np.array(READINGS).T
    assert bp_grade(sbp, dbp).tolist() == [
        "optimal", "normal", "high_normal", "grade1", "grade2", "grade3", "grade3",
    ]  # fmt: skip


def test_ish_2020_grid() -> None:
    """ISH 2020: normal <130/<85, high normal 130-139/85-89, grade 1 140-159/90-99, grade 2
    >=160/>=100; no optimal and no grade 3."""
    sbp, dbp = np.array(READINGS).T
    assert bp_grade(sbp, dbp, guideline="ish2020").tolist() == [
        "normal", "normal", "high_normal", "grade1", "grade2", "grade2", "grade2",
    ]  # fmt: skip


def test_grade_edges() -> None:
    sbp = [119, 120, 129, 130, 139, 140, 159, 160, 179, 180]
    assert bp_grade(sbp, [60] * 10).tolist() == [
        "optimal", "normal", "normal", "high_normal", "high_normal", "grade1", "grade1", "grade2",
        "grade2", "grade3",
    ]  # fmt: skip
    dbp = [79, 80, 84, 85, 89, 90, 99, 100, 109, 110]
    assert bp_grade([100] * 10, dbp).tolist() == [
        "optimal", "normal", "normal", "high_normal", "high_normal", "grade1", "grade1", "grade2",
        "grade2", "grade3",
    ]  # fmt: skip


def test_missing_or_implausible_reading_has_no_grade() -> None:
    assert bp_grade([np.nan, 140, 20], [90, np.nan, 10]).tolist() == ["", "", ""]


# USPSTF 2021 (JAMA 2021;325:962-70): aged 50-80, >= 20 pack-years, smoking now or quit < 15 years.
@pytest.mark.parametrize(
    ("age", "status", "pack_years", "quit", "eligible"),
    [
        (50, "current", 20, np.nan, True),  # 1 pack a day for 20 years
        (80, "current", 40, np.nan, True),  # 2 packs a day for 20 years
        (80.9, "current", 40, np.nan, True),  # still 80 in completed years
        (49, "current", 30, np.nan, False),
        (81, "current", 30, np.nan, False),
        (60, "current", 19.9, np.nan, False),
        (60, "former", 25, 14, True),
        (60, "former", 25, 15, False),  # stops once not smoked for 15 years
        (60, "never", 0, np.nan, False),
    ],
)
def test_lung_ct_eligibility(
    age: float, status: str, pack_years: float, quit: float, eligible: bool
) -> None:
    args = ([age], [status], [pack_years], [quit])
    assert lung_ct_eligible(*args).tolist() == [eligible]
    assert lung_ct_known(*args).tolist() == [True]


def test_lung_ct_undecided_without_the_inputs_it_needs() -> None:
    args = (
        [60, 60, np.nan, 60],
        ["current", "former", "current", "former"],
        [np.nan, 30, 30, 10],
        [np.nan, np.nan, np.nan, np.nan],
    )
    assert lung_ct_known(*args).tolist() == [False, False, False, True]  # 10 pack-years decides
    assert score_person(age=60, smoker=True).lung_ct_eligible is None
    assert score_person(age=60, smoker=True, pack_years=30).lung_ct_eligible is True
    assert (
        score_person(age=60, smoker=False, pack_years=30, years_since_quit=20).lung_ct_eligible
        is False
    )


# COPD-PS (Martinez et al. COPD 2008;5:85-95): answers as 0-4 positions in the printed order.
def test_copd_ps_worked_examples() -> None:
    """A 62-year-old (2) who smoked 100 cigarettes (2) and is short of breath some of the time (1):
    5 points, positive. A 45-year-old (0) smoker (2) coughing up phlegm every day (2), strongly
    agreeing that breathing limits activity (2), short of breath all of the time (2): 8, positive.
    A 55-year-old (1) non-smoker with phlegm a few days a month (1): 2, negative."""
    points, positive = copd_ps([2, 4, 0], [0, 4, 2], [0, 4, 0], [1, 1, 0], [62, 45, 55])
    assert points.tolist() == [5.0, 8.0, 2.0]
    assert positive.tolist() == [True, True, False]


def test_copd_ps_item_points() -> None:
    zeros = [0] * 5
    breathless, _ = copd_ps([0, 1, 2, 3, 4], zeros, zeros, zeros, [40] * 5)
    phlegm, _ = copd_ps(zeros, [0, 1, 2, 3, 4], zeros, zeros, [40] * 5)
    activity, _ = copd_ps(zeros, zeros, [0, 1, 2, 3, 4], zeros, [40] * 5)
    age, _ = copd_ps(zeros, zeros, zeros, zeros, [35, 49, 50, 59, 60])
    assert breathless.tolist() == [0, 0, 1, 2, 2]
    assert phlegm.tolist() == [0, 0, 1, 1, 2]
    assert activity.tolist() == [0, 0, 0, 1, 2]
    assert age.tolist() == [0, 0, 1, 1, 2]


def test_copd_ps_missing_out_of_range_or_under_35() -> None:
    points, positive = copd_ps([np.nan, 5, 4], [4, 4, 4], [4, 4, 4], [1, 1, 1], [60, 60, 34])
    assert np.isnan(points).all()
    assert not positive.any()
    person = score_person(
        age=62,
        copd_breathless=2,
        copd_phlegm=0,
        copd_activity_limited=0,
        smoked_100_cigarettes=True,
    )
    assert (person.copd_ps_points, person.copd_ps_positive) == (5, True)
