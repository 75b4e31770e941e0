"""EARS C1, C2 and C3, ported from R `surveillance` 1.20.3, `earsC()` (R/earsC.R).

Vectorised: `observed` is one series (n_weeks,) or many (n_series, n_weeks), evaluated at weeks
`first`..n_weeks-1 (R's `range`, which here is always contiguous up to the end).
"""

from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from songkhoe.surveillance.models import DetectorResult

EarsMethod = Literal["C1", "C2", "C3"]
_EXTRA_LAG = {"C1": 0, "C2": 2, "C3": 4}


def ears_max_lag(method: EarsMethod = "C1", baseline: int = 7) -> int:
    """Weeks of history the method needs before its first evaluated week (R's `maxLag`)."""
    return baseline + _EXTRA_LAG[method]


def _reference_stats(
    x: np.ndarray, weeks: np.ndarray, lag: int, baseline: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (n-1) of x[..., t-lag-baseline+1 .. t-lag] for each t in `weeks`."""
    windows = sliding_window_view(x, baseline, axis=-1)[:, weeks - lag - baseline + 1]
    return windows.mean(axis=-1), windows.std(axis=-1, ddof=1)


def ears_c(
    observed: np.ndarray,
    *,
    first: int | None = None,
    method: EarsMethod = "C1",
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float | None = None,
) -> DetectorResult:
    """EARS C1/C2/C3 as R `surveillance` 1.20.3 `earsC()` (R/earsC.R), control names in snake_case.

    - `first` (R `range`): default the first week with `ears_max_lag()` weeks before it, i.e. R's
      default range baseline+1 (C1), baseline+3 (C2), baseline+5 (C3), 1-based.
    - `alpha`: default 0.001 for C1 and C2, 0.025 for C3 (R's defaults when `alpha` is not given).
    - C1: reference = the `baseline` weeks before t; upper bound = mean + qnorm(1-alpha) *
      max(sd, min_sigma).
    - C2: the same with the reference lagged by 2 weeks (weeks t-baseline-2 .. t-3).
    - C3: with C2(s) = (x_s - mean_s) / max(sd_s, min_sigma), the upper bound is
      max(0, x_t + max(sd_t, min_sigma) * (z - max(0, C2(t-2) - 1) - max(0, C2(t-1) - 1))),
      sd_t being the C2 reference sd at t. So C3 alarms exactly when the two previous C2
      excesses sum above z, whatever x_t (R's quirk, kept).
    - A zero sd with min_sigma = 0 gives C2 = ±Inf or NaN (0/0); like R, NaN propagates to an
      undecided week (upperbound NaN, alarm -1). Alarm: observed > upperbound.
    """
    if min_sigma < 0:
        raise ValueError("The minimum sigma parameter (min_sigma) needs to be positive")
    if baseline < 3:
        raise ValueError("Minimum baseline to use is 3.")
    if method not in _EXTRA_LAG:
        raise ValueError(f"method must be one of C1, C2, C3, got {method!r}")
    x = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    n_weeks = x.shape[1]
    max_lag = ears_max_lag(method, baseline)
    if first is None:
        first = max_lag
    if first - max_lag < 0:
        raise ValueError(
            f"The vector of observed is too short! {method} needs {max_lag} weeks before the "
            f"first evaluated week (index {first})"
        )
    if first >= n_weeks:
        raise ValueError(f"first ({first}) is past the last week (index {n_weeks - 1})")
    if alpha is None:
        alpha = 0.025 if method == "C3" else 0.001
    z_alpha = NormalDist().inv_cdf(1 - alpha)
    weeks = np.arange(first, n_weeks)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "C3":
            weeks_c2 = np.arange(first - 2, n_weeks)
            mean, sd = _reference_stats(x, weeks_c2, 3, baseline)
            sigma = np.maximum(sd, min_sigma)
            c2 = (x[:, weeks_c2] - mean) / sigma
            lag2 = np.maximum(0.0, c2[:, :-2] - 1)
            lag1 = np.maximum(0.0, c2[:, 1:-1] - 1)
            upper = x[:, weeks] + sigma[:, 2:] * (z_alpha - (lag2 + lag1))
            upper = np.maximum(0.0, upper)
        else:
            mean, sd = _reference_stats(x, weeks, 1 + _EXTRA_LAG[method], baseline)
            upper = mean + z_alpha * np.maximum(sd, min_sigma)
        alarm = np.where(np.isnan(upper), -1, x[:, weeks] > upper).astype(np.int8)
    if np.ndim(observed) == 1:
        return DetectorResult(upperbound=upper[0], alarm=alarm[0], first=first)
    return DetectorResult(upperbound=upper, alarm=alarm, first=first)
