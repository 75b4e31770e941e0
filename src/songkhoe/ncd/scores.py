"""NCD risk scores: pure, vectorised functions (NumPy arrays in, arrays out), all of a person's
scores at once (`score_arrays`), and the per-person wrapper `score_person`, which runs the same code
on arrays of length 1.

Shipped (sources in each module): WHO 2019 CVD risk, laboratory model, Southeast Asia
recalibration (`who_cvd`); FINDRISC (`findrisc`); office BP grade, Vietnamese and ISH 2020 grids
(`bp`); USPSTF 2021 lung-cancer CT eligibility (`lung`); COPD-PS (`copd`); the CHA2DS2-VA
stroke risk of atrial fibrillation (`cha2ds2_va`, below).
Not shipped: the WHO non-laboratory model (no reproducible Southeast Asia recalibration), the
ModAsian FINDRISC variant and the ADA risk test (their numbers could not be checked against the
primary source).

Missing values are NaN in numeric arrays and "" in text arrays; every score is NaN / "" where an
input it needs is missing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from songkhoe.ncd.bp import bp_grade
from songkhoe.ncd.copd import copd_ps
from songkhoe.ncd.findrisc import findrisc, findrisc_band
from songkhoe.ncd.inputs import as_float
from songkhoe.ncd.lung import lung_ct_eligible, lung_ct_known
from songkhoe.ncd.who_cvd import who_cvd_band, who_cvd_lab, who_cvd_note

__all__ = [
    "CHA2DS2_VA_ITEMS",
    "NUMBER_INPUTS",
    "FLAG_INPUTS",
    "TEXT_INPUTS",
    "PersonRisk",
    "bp_grade",
    "cha2ds2_va",
    "cha2ds2_va_advice",
    "copd_ps",
    "findrisc",
    "findrisc_band",
    "lung_ct_eligible",
    "lung_ct_known",
    "score_arrays",
    "score_person",
    "smoker_status",
    "who_cvd_band",
    "who_cvd_lab",
    "who_cvd_note",
]

NUMBER_INPUTS = (
    "age", "sbp", "dbp", "total_cholesterol_mmol", "bmi", "waist_cm", "pack_years",
    "years_since_quit", "copd_breathless", "copd_phlegm", "copd_activity_limited",
)  # fmt: skip
FLAG_INPUTS = (
    "smoker", "diabetes", "physically_active", "daily_vegetables", "bp_medication",
    "history_high_glucose", "smoked_100_cigarettes",
)  # fmt: skip
TEXT_INPUTS = ("sex", "family_diabetes")


def smoker_status(smoker: Any, pack_years: Any, years_since_quit: Any) -> np.ndarray:
    """Smoking status for the lung-screening rule: "current" where smoker is 1; "former" where
    smoker is 0 and years since quitting or pack-years above 0 are recorded; "never" where smoker
    is 0 with neither; "" where smoker is missing."""
    smoker, pack_years, quit = as_float(smoker), as_float(pack_years), as_float(years_since_quit)
    former = ~np.isnan(quit) | (pack_years > 0)
    return np.select(
        [smoker == 1, (smoker == 0) & former, smoker == 0], ["current", "former", "never"], ""
    )


CHA2DS2_VA_ITEMS = (  # (letter, condition or age band, points)
    ("C", "heart_failure", 1),
    ("H", "hypertension", 1),
    ("A2", "age_75_plus", 2),
    ("D", "diabetes", 1),
    ("S2", "stroke", 2),
    ("V", "vascular", 1),
    ("A", "age_65_74", 1),
)


def cha2ds2_va(
    age: Any, heart_failure: Any, hypertension: Any, diabetes: Any, stroke: Any, vascular: Any
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The CHA2DS2-VA score of people with atrial fibrillation and the points of each item, by
    letter (CHA2DS2_VA_ITEMS): heart failure 1, hypertension 1, age >= 75 years 2, diabetes 1,
    previous stroke, TIA or thromboembolism 2, vascular disease (myocardial infarction,
    peripheral arterial disease, aortic plaque) 1, age 65-74 years 1; sex is not an item. Range
    0-8. Conditions are flags (1 present, 0 absent); age in completed years.

    Source: 2024 ESC Guidelines for the management of atrial fibrillation (Van Gelder IC et al.,
    Eur Heart J 2024;45:3314-3414, doi:10.1093/eurheartj/ehae176), which replaced CHA2DS2-VASc
    with CHA2DS2-VA (female sex an age-dependent modifier, not a risk factor per se). The items
    and points as read in secondary sources quoting it (NHS Highland AF guideline 2026, Queensland
    Health CCM "CHA2DS2-VA"), not in the guideline's own table. Where age is missing the age items
    and the score are NaN; a missing condition counts as absent (a record lists what is known).
    """
    age = as_float(age)
    known = ~np.isnan(age)
    flags = {
        "C": as_float(heart_failure),
        "H": as_float(hypertension),
        "D": as_float(diabetes),
        "S2": as_float(stroke),
        "V": as_float(vascular),
    }
    items = {
        letter: np.where(flags[letter] == 1, points, 0.0)
        for letter, _, points in CHA2DS2_VA_ITEMS
        if letter in flags
    }
    items["A2"] = np.where(known, np.where(age >= 75, 2.0, 0.0), np.nan)
    items["A"] = np.where(known, np.where((age >= 65) & (age < 75), 1.0, 0.0), np.nan)
    items = {letter: items[letter] for letter, _, _ in CHA2DS2_VA_ITEMS}
    return sum(items.values(), np.zeros(age.shape)), items


def cha2ds2_va_advice(points: Any) -> np.ndarray:
    """What the ESC 2024 AF guideline advises on oral anticoagulation for a CHA2DS2-VA score:
    "recommended" at >= 2 (class I), "consider" at 1 (class IIa), "" at 0 (no risk factor) or
    a missing score. As read in secondary sources quoting the guideline (see `cha2ds2_va`); the
    decision also weighs bleeding risk, which this score does not hold."""
    points = as_float(points)
    return np.select([points >= 2, points == 1], ["recommended", "consider"], "")


def score_arrays(columns: Mapping[str, Any], size: int) -> dict[str, np.ndarray]:
    """Every score for `size` people from input columns named as in NUMBER_INPUTS, FLAG_INPUTS and
    TEXT_INPUTS (any subset; an absent column is all missing)."""
    missing_number, missing_text = np.full(size, np.nan), np.full(size, "")

    def col(name: str) -> Any:
        return columns.get(name, missing_text if name in TEXT_INPUTS else missing_number)

    cvd_names = ("sex", "age", "smoker", "diabetes", "sbp", "total_cholesterol_mmol")
    cvd_inputs = [col(name) for name in cvd_names]
    cvd = who_cvd_lab(*cvd_inputs)
    points, band = findrisc(
        col("sex"),
        col("age"),
        col("bmi"),
        col("waist_cm"),
        col("physically_active"),
        col("daily_vegetables"),
        col("bp_medication"),
        col("history_high_glucose"),
        col("family_diabetes"),
    )
    lung_inputs = (
        col("age"),
        smoker_status(col("smoker"), col("pack_years"), col("years_since_quit")),
        col("pack_years"),
        col("years_since_quit"),
    )
    copd_points, copd_positive = copd_ps(
        col("copd_breathless"),
        col("copd_phlegm"),
        col("copd_activity_limited"),
        col("smoked_100_cigarettes"),
        col("age"),
    )
    return {
        "who_cvd_lab_pct": cvd,
        "who_cvd_note": who_cvd_note(*cvd_inputs),
        "who_cvd_band": who_cvd_band(cvd),
        "findrisc_points": points,
        "findrisc_band": band,
        "bp_grade": bp_grade(col("sbp"), col("dbp")),
        "lung_ct_eligible": lung_ct_eligible(*lung_inputs),
        "lung_ct_known": lung_ct_known(*lung_inputs),
        "copd_ps_points": copd_points,
        "copd_ps_positive": copd_positive,
    }


@dataclass(frozen=True)
class PersonRisk:
    """One person's scores; None or "" where an input the score needs is missing."""

    who_cvd_lab_pct: float | None
    who_cvd_note: str
    who_cvd_band: str
    findrisc_points: int | None
    findrisc_band: str
    bp_grade: str
    lung_ct_eligible: bool | None
    copd_ps_points: int | None
    copd_ps_positive: bool | None


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def score_person(
    *,
    sex: str | bool | None = None,
    age: float | None = None,
    smoker: bool | None = None,
    diabetes: bool | None = None,
    sbp: float | None = None,
    dbp: float | None = None,
    total_cholesterol_mmol: float | None = None,
    bmi: float | None = None,
    waist_cm: float | None = None,
    physically_active: bool | None = None,
    daily_vegetables: bool | None = None,
    bp_medication: bool | None = None,
    history_high_glucose: bool | None = None,
    family_diabetes: str | None = None,
    pack_years: float | None = None,
    years_since_quit: float | None = None,
    copd_breathless: int | None = None,
    copd_phlegm: int | None = None,
    copd_activity_limited: int | None = None,
    smoked_100_cigarettes: bool | None = None,
) -> PersonRisk:
    """All scores of one person (inputs as in the batch CSV; COPD-PS answers as 0-4 positions),
    computed by `score_arrays` on arrays of length 1."""
    given = {name: value for name, value in locals().items() if value is not None}
    columns = {
        name: np.array([value]) if name in TEXT_INPUTS else np.array([value], dtype=np.float64)
        for name, value in given.items()
    }
    out = {name: values[0] for name, values in score_arrays(columns, 1).items()}
    points, copd_points = _number(out["findrisc_points"]), _number(out["copd_ps_points"])
    return PersonRisk(
        who_cvd_lab_pct=_number(out["who_cvd_lab_pct"]),
        who_cvd_note=str(out["who_cvd_note"]),
        who_cvd_band=str(out["who_cvd_band"]),
        findrisc_points=None if points is None else int(points),
        findrisc_band=str(out["findrisc_band"]),
        bp_grade=str(out["bp_grade"]),
        lung_ct_eligible=bool(out["lung_ct_eligible"]) if out["lung_ct_known"] else None,
        copd_ps_points=None if copd_points is None else int(copd_points),
        copd_ps_positive=None if copd_points is None else bool(out["copd_ps_positive"]),
    )
