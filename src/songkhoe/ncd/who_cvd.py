"""WHO 2019 10-year cardiovascular risk, laboratory-based model, recalibrated to Southeast Asia.

Source: WHO CVD Risk Chart Working Group, Lancet Glob Health 2019;7:e1332-45 (model and
supplementary Table 1.6 coefficients); recalibration to the GBD region Southeast Asia (Vietnam)
derived from the published WHO chart, see data/SOURCE.md. For each outcome k (CHD, stroke):

    lp_k   = sum(beta * x) + sum(beta_x_age * x * (age - 60)),   x: age-60, sbp-120, tchol-6,
             smoking 0/1 (current), diabetes 0/1
    risk_k = 1 - S0_k ** exp(lp_k)                                (uncalibrated 10-year risk)
    risk*_k = 1 - exp(-exp(cons_k + slope_k * ln(-ln(1 - risk_k))))
    CVD    = 1 - (1 - risk*_chd) * (1 - risk*_stroke)

Since ln(-ln(1 - risk_k)) = lp_k + ln(-ln S0_k), each calibrated outcome is the linear form
cons_k + slope_k * (lp_k + ln(-ln S0_k)) on the cloglog scale; the code folds slope and baseline
into the coefficients once, which is exact and keeps the 1 - S0**exp(lp) round trip out of the
hot path.

Ranges. Age 40-80: the range the models were derived on (the paper's cohorts, ages 40-80); the
printed charts stop at 74 and print the model at cell centres (age 42.5 for 40-44, SBP 110 for <120,
...), so an exact input can differ from its chart cell. SBP and total cholesterol enter the model
linearly; no clipping rule is published with the model (paper or supplement), and none is invented
here: values inside the data-entry limits of `songkhoe.ncd.inputs.PLAUSIBLE` are scored as they
are, values outside them count as missing.

The non-laboratory model (BMI instead of cholesterol and diabetes) is deliberately not provided: its
Southeast Asia recalibration cannot be reproduced from a published chart that is available here, and
no calibration is invented.
"""

import json
from importlib import resources
from typing import Any

import numpy as np

from songkhoe.ncd.inputs import PLAUSIBLE, as_flag, as_float, plausible, sex_masks

AGE_RANGE = (40.0, 80.0)
BANDS = ("<5", "5-<10", "10-<20", "20-<30", ">=30")
_BAND_EDGES = (5.0, 10.0, 20.0, 30.0)
_TERMS = (
    "age", "sbp", "tchol", "diabetes", "smoking",
    "sbp_x_age", "tchol_x_age", "diabetes_x_age", "smoking_x_age",
)  # fmt: skip
_OUTCOMES = (("male", "chd"), ("male", "stroke"), ("female", "chd"), ("female", "stroke"))


def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("songkhoe.ncd").joinpath("data", name).read_text("utf-8"))


def _calibrated_model() -> np.ndarray:
    """Weights (1 + 9 terms x 4 outcomes) such that weights.T @ [1, terms] is the calibrated
    cloglog risk of male CHD, male stroke, female CHD, female stroke: row 0 holds
    cons + slope * ln(-ln S0), the other rows slope * beta."""
    coef = _load("who_cvd_lab_2019.json")["lab"]
    cal = _load("who_cvd_recalibration_southeast_asia.json")
    weights = np.empty((1 + len(_TERMS), len(_OUTCOMES)))
    for j, (sex, outcome) in enumerate(_OUTCOMES):
        beta = coef[sex][outcome]
        slope = cal[sex][f"{outcome}_slope"]
        weights[0, j] = cal[sex][f"{outcome}_cons"] + slope * np.log(-np.log(beta["S0_10y"]))
        weights[1:, j] = [slope * beta[term] for term in _TERMS]
    return weights


_WEIGHTS = _calibrated_model()


def _valid(
    known: np.ndarray,
    age: np.ndarray,
    smoker: np.ndarray,
    diabetes: np.ndarray,
    sbp: np.ndarray,
    tchol: np.ndarray,
) -> np.ndarray:
    low, high = AGE_RANGE
    return (
        known
        & (age >= low)
        & (age <= high)
        & ~np.isnan(smoker)
        & ~np.isnan(diabetes)
        & plausible("sbp", sbp)
        & plausible("total_cholesterol_mmol", tchol)
    )


def who_cvd_lab(
    sex: Any, age: Any, smoker: Any, diabetes: Any, sbp: Any, total_cholesterol_mmol: Any
) -> np.ndarray:
    """10-year risk of a fatal or non-fatal CVD event in % (float64), Southeast Asia calibration.

    sex: "male"/"female" (or booleans, True = male); smoker (current) and diabetes: 0/1; sbp in
    mmHg; total cholesterol in mmol/L. NaN where an input is missing, the age is outside 40-80 or a
    measurement is implausible (`who_cvd_note` says which)."""
    male, known = sex_masks(sex)
    age = as_float(age)
    smoker, diabetes = as_flag(smoker), as_flag(diabetes)
    sbp, tchol = as_float(sbp), as_float(total_cholesterol_mmol)
    a, s, c = age - 60.0, sbp - 120.0, tchol - 6.0
    terms = [np.ones_like(a), a, s, c, diabetes, smoker, s * a, c * a, diabetes * a, smoker * a]
    cloglog = np.tensordot(_WEIGHTS.T, np.stack(terms), axes=1)
    chd = np.where(male, cloglog[0], cloglog[2])
    stroke = np.where(male, cloglog[1], cloglog[3])
    risk = -100.0 * np.expm1(-(np.exp(chd) + np.exp(stroke)))
    return np.where(_valid(known, age, smoker, diabetes, sbp, tchol), risk, np.nan)


def who_cvd_note(
    sex: Any, age: Any, smoker: Any, diabetes: Any, sbp: Any, total_cholesterol_mmol: Any
) -> np.ndarray:
    """Why `who_cvd_lab` is NaN, per person ("" where it is not): the first failing input, e.g.
    "missing sbp" or "age 35 outside 40-80"."""
    sex = np.asarray(sex)
    _, known = sex_masks(sex)
    age = as_float(age)
    note = np.full(age.shape, "", dtype=object)
    open_ = np.ones(age.shape, dtype=bool)

    def fail(mask: np.ndarray, text: str, values: np.ndarray | None = None) -> None:
        """Note `text` (a %g format of `values` when given) where `mask` is the first failure."""
        hit = open_ & mask
        if hit.any():
            if values is None:
                note[hit] = text
            else:  # format each distinct value once
                distinct, index = np.unique(values[hit], return_inverse=True)
                note[hit] = np.char.mod(text, distinct)[index]
            open_[hit] = False

    fail(~known & ((sex == "") | (sex == None)), "missing sex")  # noqa: E711 (element-wise)
    fail(~known, "sex not male or female")
    fail(np.isnan(age), "missing age")
    low, high = AGE_RANGE
    fail((age < low) | (age > high), f"age %g outside {low:g}-{high:g}", age)
    for name, raw in (("smoker", as_float(smoker)), ("diabetes", as_float(diabetes))):
        fail(np.isnan(raw), f"missing {name}")
        fail(np.isnan(as_flag(raw)), f"{name} %g not 0 or 1", raw)
    for name, raw in (("sbp", sbp), ("total_cholesterol_mmol", total_cholesterol_mmol)):
        value = as_float(raw)
        fail(np.isnan(value), f"missing {name}")
        low, high = PLAUSIBLE[name]
        fail(~plausible(name, value), f"{name} %g outside {low:g}-{high:g}", value)
    return note


def who_cvd_band(risk_pct: Any) -> np.ndarray:
    """Chart colour band of a risk: "<5", "5-<10", "10-<20", "20-<30", ">=30"; "" for NaN.

    The band is that of the risk rounded half-up to the integer % the chart prints (4.6 prints as 5
    and is coloured 5-<10), so a band always agrees with its printed number."""
    printed = np.floor(as_float(risk_pct) + 0.5)
    bands = np.asarray(BANDS)[np.digitize(printed, _BAND_EDGES)]
    return np.where(np.isnan(printed), "", bands)
