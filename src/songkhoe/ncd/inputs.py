"""Array inputs shared by the scores: coercion, and plausibility limits for check-up measurements.

The limits are data-entry limits, not model limits: a value outside them is a typing error (SBP 20,
age 300), which the batch command refuses and the score functions treat as missing. Model ranges
(e.g. the ages the WHO model was derived on) live with each score.
"""

from typing import Any

import numpy as np

PLAUSIBLE: dict[str, tuple[float, float]] = {
    "age": (0.0, 120.0),
    "sbp": (60.0, 300.0),
    "dbp": (30.0, 200.0),
    "total_cholesterol_mmol": (1.0, 20.0),
    "bmi": (10.0, 80.0),
    "waist_cm": (30.0, 250.0),
    "pack_years": (0.0, 250.0),
    "years_since_quit": (0.0, 100.0),
}


def as_float(values: Any) -> np.ndarray:
    """float64 array; None becomes NaN (missing)."""
    return np.asarray(values, dtype=np.float64)


def as_flag(values: Any) -> np.ndarray:
    """A yes/no input as float64 0.0/1.0; anything else (None, NaN, 2) becomes NaN."""
    flags = as_float(values)
    return np.where((flags == 0) | (flags == 1), flags, np.nan)


def sex_masks(sex: Any) -> tuple[np.ndarray, np.ndarray]:
    """(male, known) from "male"/"female" strings or booleans (True = male)."""
    sex = np.asarray(sex)
    if sex.dtype == np.bool_:
        return sex, np.ones(sex.shape, dtype=bool)
    male = sex == "male"
    return male, male | (sex == "female")


def implausible(name: str, values: np.ndarray) -> np.ndarray:
    """True where a present (non-NaN) value lies outside the limits of `name`."""
    low, high = PLAUSIBLE[name]
    return (values < low) | (values > high)


def plausible(name: str, values: np.ndarray) -> np.ndarray:
    """True where the value is present and inside the limits of `name`."""
    low, high = PLAUSIBLE[name]
    return (values >= low) & (values <= high)
