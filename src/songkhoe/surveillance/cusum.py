"""CUSUM for count series, ported from R `surveillance` 1.20.3, `algo.cusum()` (R/algo_cusum.R).

Vectorised over series: `observed` is (n_weeks,) or (n_series, n_weeks); the loop runs over the
evaluated weeks only.
"""

from typing import Literal, get_args

import numpy as np

from songkhoe.surveillance.models import DetectorResult

Trans = Literal["standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none"]
TRANSFORMS: tuple[str, ...] = get_args(Trans)


def _standardise(x: np.ndarray, m: np.ndarray, trans: str, alpha: float) -> np.ndarray:
    """R's `standObs` for the transformation `trans`."""
    if trans == "rossi":
        return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
    if trans == "standard":
        return (x - m) / np.sqrt(m)
    if trans == "anscombe":
        return 3 / 2 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
    if trans == "anscombe2nd":
        return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
    if trans == "pearsonNegBin":
        return (x - m) / np.sqrt(m + alpha * m**2)
    return x  # "none"


def _upperbound(
    m: np.ndarray,
    h: float,
    k: float,
    c_prev: np.ndarray,
    c_now: np.ndarray,
    trans: str,
    alpha: float,
) -> np.ndarray:
    """R's upper bound for `trans`: the count that would bring the CUSUM to h (before clipping)."""
    if trans == "rossi":
        r = m ** (1 / 2)
        m32 = m ** (3 / 2)
        return (
            2 * h * r
            + 2 * k * r
            - 2 * c_prev * r
            + 5 * m
            - 2 * (4 * m**2 + 2 * m32 * h + 2 * m32 * k - 2 * m32 * c_prev) ** (1 / 2)
        )
    if trans == "standard":
        return np.ceil(np.sqrt(m) * (h + k - c_prev) + m)
    if trans in ("anscombe", "anscombe2nd"):
        shift = m ** (2 / 3) if trans == "anscombe" else m ** (2 / 3) - m ** (1 / 3) / 9
        base = (2 / 3) * m ** (1 / 6) * (h + k - c_prev) + shift
        return np.where(base < 0, 0.0, base ** (3 / 2))
    if trans == "pearsonNegBin":
        return np.sqrt(m + alpha * m**2) * (h + k - c_prev) + m
    return h - c_now  # "none"


def algo_cusum(
    observed: np.ndarray,
    *,
    first: int,
    k: float = 1.04,
    h: float = 2.26,
    m: float | None = None,
    trans: Trans = "standard",
    alpha: float = 0.1,
) -> DetectorResult:
    """CUSUM as R `surveillance` 1.20.3 `algo.cusum()` (R/algo_cusum.R), same control names.

    - `first` (R `range`, contiguous to the end; R has no default): the weeks before it are the
      reference: `m` = None takes their mean per series (R's `m = NULL`); a number is used as is.
      R's `m = "glm"` (a seasonal Poisson GLM) is not ported.
    - `trans`: "standard" (default, (x - m)/sqrt(m)), "rossi", "anscombe", "anscombe2nd",
      "pearsonNegBin" (uses `alpha`, default 0.1) and "none" are ported, each with R's upper
      bound formula, quirks included (anscombe2nd's bound uses m^(1/3)/9 where its statistic
      uses m^(-1/3)/9; "none" gives h - S_t). "anscombeNegBin" is not ported.
    - S_0 = 0 at `first`, S_t = max(0, S_{t-1} + z_t - k); alarm when S_t >= h. The upper bound
      uses S_{t-1}; NaN and negative bounds become 0, as in R. A NaN statistic (m = 0) makes the
      alarm undecided (-1), like R's NA.
    """
    if trans not in TRANSFORMS:
        raise ValueError(f"trans must be one of {', '.join(TRANSFORMS)}, got {trans!r}")
    x_all = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    n_series, n_weeks = x_all.shape
    if not 1 <= first < n_weeks:
        raise ValueError(
            f"first must leave at least one reference week before it and one evaluated week "
            f"(1 <= first < {n_weeks}), got {first}"
        )
    x = x_all[:, first:]
    m_col = (
        x_all[:, :first].mean(axis=1, keepdims=True)
        if m is None
        else np.full((n_series, 1), float(m))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = _standardise(x, m_col, trans, alpha)
        cusum = np.zeros((n_series, x.shape[1] + 1))
        for t in range(x.shape[1]):
            cusum[:, t + 1] = np.maximum(0.0, cusum[:, t] + (z[:, t] - k))
        upper = _upperbound(m_col, h, k, cusum[:, :-1], cusum[:, 1:], trans, alpha)
        alarm = np.where(np.isnan(cusum[:, 1:]), -1, cusum[:, 1:] >= h).astype(np.int8)
    upper = np.where(np.isnan(upper) | (upper < 0), 0.0, upper)
    if np.ndim(observed) == 1:
        return DetectorResult(upperbound=upper[0], alarm=alarm[0], first=first)
    return DetectorResult(upperbound=upper, alarm=alarm, first=first)
