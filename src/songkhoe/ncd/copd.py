"""COPD Population Screener (COPD-PS): Martinez FJ et al. Development and initial validation of a
self-scored COPD Population Screener Questionnaire (COPD-PS). COPD 2008;5:85-95.

Five items, 0-10 points; 5 or more suggests COPD (refer for spirometry). Answers are given as their
position (0-4) in the printed order of the questionnaire:

    1 short of breath, past 4 weeks: none / a little / some / most / all of the time -> 0 0 1 2 2
    2 cough up mucus or phlegm: no never / only with colds / a few days a month / most days a week /
      every day -> 0 0 1 1 2
    3 "I do less than I used to because of my breathing problems", past 12 months: strongly
      disagree / disagree / unsure / agree / strongly agree -> 0 0 0 1 2
    4 smoked at least 100 cigarettes in your entire life: yes -> 2 (no, don't know -> 0)
    5 age: 35-49 -> 0, 50-59 -> 1, 60+ -> 2; the questionnaire is for adults 35 and over, so a
      younger age gives no score.

COPD-PS was chosen over CAPTURE because CAPTURE's 2-4 band needs a peak-flow measurement the
commune-station check-up does not record.
"""

from typing import Any

import numpy as np

from songkhoe.ncd.inputs import as_flag, as_float

POSITIVE_FROM = 5
_BREATHLESS = np.array([0.0, 0.0, 1.0, 2.0, 2.0])
_PHLEGM = np.array([0.0, 0.0, 1.0, 1.0, 2.0])
_ACTIVITY = np.array([0.0, 0.0, 0.0, 1.0, 2.0])


def _answer_points(answer: Any, points: np.ndarray) -> np.ndarray:
    answer = as_float(answer)
    valid = np.isin(answer, np.arange(len(points)))
    return np.where(valid, points[np.where(valid, answer, 0).astype(np.intp)], np.nan)


def copd_ps(
    breathless: Any, phlegm: Any, activity_limited: Any, smoked_100_cigarettes: Any, age: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(points, positive): points 0-10 as float64 (NaN where an answer is missing or out of range,
    or the age is under 35) and positive = points >= 5 (False where the points are NaN)."""
    age = as_float(age)
    age_points = np.select([age < 35, age < 50, age < 60], [np.nan, 0.0, 1.0], 2.0)
    points = (
        _answer_points(breathless, _BREATHLESS)
        + _answer_points(phlegm, _PHLEGM)
        + _answer_points(activity_limited, _ACTIVITY)
        + 2.0 * as_flag(smoked_100_cigarettes)
        + age_points
    )
    return points, points >= POSITIVE_FROM
