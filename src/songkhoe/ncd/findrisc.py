"""FINDRISC, the Finnish Diabetes Risk Score: 10-year risk of type 2 diabetes, 0-26 points.

Sources: Lindström J, Tuomilehto J. The diabetes risk score: a practical tool to predict type 2
diabetes risk. Diabetes Care 2003;26:725-31 (age, BMI, waist, physical activity, daily vegetables,
antihypertensive drugs, history of high blood glucose); the FINDRISC form of the Finnish Diabetes
Association adds family history of diabetes (0/3/5) and gives the five bands used here:

    age      <45: 0   45-54: 2   55-64: 3   >64: 4        (completed years)
    BMI      <25: 0   25-30: 1   >30: 3                    (kg/m2)
    waist    men <94: 0, 94-102: 3, >102: 4; women <80: 0, 80-88: 3, >88: 4 (cm)
    not physically active 30 min daily: 2;  vegetables/fruit/berries not every day: 1
    ever on antihypertensive drugs: 2;      ever found high blood glucose: 5
    family diabetes: none 0, second degree (grandparent, aunt, uncle, first cousin) 3,
                     first degree (parent, brother, sister, own child) 5
    bands    <7 low (~1 in 100), 7-11 slightly elevated (~1 in 25), 12-14 moderate (~1 in 6),
             15-20 high (~1 in 3), >20 very high (~1 in 2)

The Asian-cut-off variant (ModAsian FINDRISC: BMI 23/27.5, waist 90/100 men, 80/90 women) is not
provided: its cut-offs could not be checked against a primary source.
"""

from typing import Any

import numpy as np

from songkhoe.ncd.inputs import as_flag, as_float, plausible, sex_masks

BANDS = ("low", "slightly_elevated", "moderate", "high", "very_high")
FAMILY_DIABETES_POINTS = {"none": 0.0, "second": 3.0, "first": 5.0}
_BAND_EDGES = (7.0, 12.0, 15.0, 21.0)


def _family_points(family_diabetes: Any) -> np.ndarray:
    family = np.asarray(family_diabetes)
    points = np.full(family.shape, np.nan)
    for answer, value in FAMILY_DIABETES_POINTS.items():
        points[family == answer] = value
    return points


def findrisc(
    sex: Any,
    age: Any,
    bmi: Any,
    waist_cm: Any,
    physically_active: Any,
    daily_vegetables: Any,
    bp_medication: Any,
    history_high_glucose: Any,
    family_diabetes: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """(points, band): points 0-26 as float64 (NaN where any item is missing or implausible) and
    the band code ("low" ... "very_high"; "" where the points are NaN).

    sex "male"/"female" (or booleans, True = male) chooses the waist cut-offs; the yes/no items are
    0/1; family_diabetes is "none", "second" or "first" (degree of the closest relative)."""
    male, known = sex_masks(sex)
    age, bmi, waist = as_float(age), as_float(bmi), as_float(waist_cm)
    waist_mid, waist_high = np.where(male, 94.0, 80.0), np.where(male, 102.0, 88.0)
    age_points = 2.0 * (age >= 45) + 1.0 * (age >= 55) + 1.0 * (age >= 65)  # 0, 2, 3, 4
    bmi_points = 1.0 * (bmi >= 25) + 2.0 * (bmi > 30)  # 0, 1, 3
    waist_points = 3.0 * (waist >= waist_mid) + 1.0 * (waist > waist_high)  # 0, 3, 4
    points = (
        age_points
        + bmi_points
        + waist_points
        + 2.0 * (1.0 - as_flag(physically_active))
        + 1.0 * (1.0 - as_flag(daily_vegetables))
        + 2.0 * as_flag(bp_medication)
        + 5.0 * as_flag(history_high_glucose)
        + _family_points(family_diabetes)
    )
    complete = known & plausible("age", age) & plausible("bmi", bmi) & plausible("waist_cm", waist)
    points = np.where(complete, points, np.nan)
    return points, findrisc_band(points)


def findrisc_band(points: Any) -> np.ndarray:
    """Band code of FINDRISC points ("" for NaN)."""
    points = as_float(points)
    bands = np.asarray(BANDS)[np.digitize(points, _BAND_EDGES)]
    return np.where(np.isnan(points), "", bands)
