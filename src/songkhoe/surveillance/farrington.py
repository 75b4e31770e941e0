"""Farrington (1996) and farringtonFlexible / Noufaily (2013) outbreak detectors.

A port of R package ``surveillance`` 1.20.3, files ``R/algo_farrington.R`` (``algo.farrington``,
``algo.farrington.fitGLM.fast``, ``algo.farrington.threshold``, ``anscombe.residuals``,
``algo.farrington.assign.weights``, ``refvalIdxByDate``) and ``R/farringtonFlexible.R``
(``farringtonFlexible``, ``algo.farrington.referencetimepoints``, ``blocks``,
``algo.farrington.data.glm``, ``algo.farrington.fitGLM.flexible``, ``algo.farrington.glm``,
``algo.farrington.threshold.farrington``, ``algo.farrington.threshold.noufaily``), for weekly
series whose time points are dates (an ``sts`` with ``epochAsDate = TRUE``, ``frequency = 52``).

R's behaviour is kept, quirks included:

- farringtonFlexible overwrites ``model$weights`` with the reweighting weights, so the trend
  test and the standard error of the prediction use the dispersion
  ``sum(omega * ((y - mu) / mu)^2) / df``
  (not the working-weight Pearson estimate, and not ``phi``: ``dispersion = model$phi`` is passed
  to ``predict.glm`` inside ``newdata`` and has no effect).
- farringtonFlexible: with fewer than ``limit54[0]`` cases in the last ``limit54[1]`` weeks the
  upper bound is NA and the alarm FALSE; a zero count never alarms; with ``nbPlugin``/``muan`` the
  alarm score is ``(y - eta0) / (upper - eta0)`` with ``eta0`` on the log scale.
- algo.farrington: the threshold is two-sided (``qnorm(1 - alpha / 2)``); with too few cases the
  upper bound is 0 and there is no alarm.
- Where R cannot fit a model (no convergence with or without trend) the week is NA (NaN, -1).
"""

import datetime as dt
from collections.abc import Sequence

import numpy as np
from scipy import special

from songkhoe.surveillance.glm import (
    QuasiPoissonFit,
    coef_p_value,
    dispersion,
    fit_quasi_poisson,
)
from songkhoe.surveillance.models import WEEKS_PER_YEAR, DetectorResult

__all__ = ["NOUFAILY_PRESET", "algo_farrington", "farrington_flexible"]

_EPS = np.finfo(float).eps

NOUFAILY_PRESET: dict = dict(
    no_periods=10,
    b=4,
    w=3,
    weights_threshold=2.58,
    past_weeks_not_included=26,
    trend_threshold=1.0,
    threshold_method="nbPlugin",
    alpha=0.1,
)
"""Noufaily et al. (2013, Stat Med 32:1206) settings of ``farrington_flexible``."""

_EXPONENTS = {"none": 1.0, "1/2": 0.5, "2/3": 2.0 / 3.0}


# ----------------------------------------------------------------------------------------------
# Input checks and calendar helpers
# ----------------------------------------------------------------------------------------------


def _as_matrix(observed: np.ndarray) -> tuple[np.ndarray, bool]:
    """Observed counts as a float (series × weeks) matrix, and whether the input was 1-D."""
    obs = np.asarray(observed, dtype=float)
    single = obs.ndim == 1
    obs = np.atleast_2d(obs)
    if obs.ndim != 2:
        raise ValueError("observed: expected a 1-D or 2-D array of counts")
    if not np.all(np.isfinite(obs)) or np.any(obs < 0):
        raise ValueError("observed: counts must be finite and non-negative")
    return obs, single


def _check(
    obs: np.ndarray, dates: np.ndarray | None, first: int, limit54: Sequence[int]
) -> np.ndarray | None:
    n_weeks = obs.shape[1]
    days = None if dates is None else np.asarray(dates, dtype="datetime64[D]")
    if days is not None and days.shape != (n_weeks,):
        raise ValueError("dates: need one date per week of observed")
    if not 0 <= first < n_weeks:
        raise ValueError(f"first: must be within 0..{n_weeks - 1}")
    if not (limit54[0] >= 0 and limit54[1] > 0):
        raise ValueError("limit54: need cases >= 0 and period > 0")
    return days


def _to_date(day: np.datetime64) -> dt.date:
    return day.astype("datetime64[D]").item()


def _years_back(day: dt.date, years: int) -> dt.date:
    """``seq(day, by = "-1 year")[years + 1]``: same month and day, normalised like R's
    ``as.Date(POSIXlt)`` (29 February in a common year becomes 1 March)."""
    return dt.date(day.year - years, day.month, 1) + dt.timedelta(days=day.day - 1)


def _wday(day: dt.date) -> int:
    """R's ``format(day, "%w")``: 0 for Sunday."""
    return day.isoweekday() % 7


def _rseq(a: int, b: int) -> list[int]:
    """R's ``a:b`` (descending when a > b)."""
    return list(range(a, b + 1)) if a <= b else list(range(a, b - 1, -1))


def _enough_cases(obs: np.ndarray, k: int, limit54: Sequence[int]) -> np.ndarray:
    """``sum(observed[(k - limit54[2] + 1):k]) >= limit54[1]`` (k 0-based here)."""
    return obs[:, max(k - limit54[1] + 1, 0) : k + 1].sum(axis=1) >= limit54[0]


# ----------------------------------------------------------------------------------------------
# Shared model pieces
# ----------------------------------------------------------------------------------------------


def _anscombe_weights(fit: QuasiPoissonFit, phi: np.ndarray, threshold: float) -> np.ndarray:
    """``anscombe.residuals`` then ``algo.farrington.assign.weights`` (R/algo_farrington.R)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(fit.mu)
        s = 1.5 * (np.cbrt(fit.y) ** 2 / np.sqrt(np.cbrt(fit.mu)) - root)
        s = s / np.sqrt(phi[:, None] * (1 - fit.hat))
        big = s > threshold
        inv2 = np.divide(1.0, s * s, out=np.ones_like(s), where=big)
        gamma = s.shape[1] / inv2.sum(axis=1, keepdims=True)
        return gamma * inv2


class _Model:
    """One ``fitFun`` result per series with the quantities the detectors use."""

    def __init__(self, fit: QuasiPoissonFit, phi: np.ndarray, summary_disp: np.ndarray):
        self.fit = fit
        self.phi = phi
        self.summary_disp = summary_disp

    def link(self, x0: np.ndarray, offset0: np.ndarray | float = 0.0) -> np.ndarray:
        return self.fit.coef @ x0 + offset0

    def link_se(self, x0: np.ndarray, disp: np.ndarray) -> np.ndarray:
        return np.sqrt(disp * np.einsum("p,spq,q->s", x0, self.fit.cov_unscaled, x0))


def _fit_fun(
    x: np.ndarray,
    y: np.ndarray,
    *,
    reweight: bool,
    weights_threshold: float,
    offset: np.ndarray | None,
    keep_weights: bool,
) -> tuple[_Model, np.ndarray]:
    """Quasi-Poisson fit, dispersion ``phi = max(dispersion, 1)`` and the Anscombe-residual
    reweighting shared by ``algo.farrington.fitGLM.fast`` and ``algo.farrington.fitGLM.flexible``.

    Returns the model and whether the first (unweighted) fit converged. ``keep_weights`` False
    reproduces fitGLM.flexible's ``model$weights <- omega`` for ``summary.glm``.
    """
    fit = fit_quasi_poisson(x, y, offset=offset)
    converged = fit.converged
    phi = np.maximum(dispersion(fit), 1.0)
    omega = None
    if reweight:
        omega = _anscombe_weights(fit, phi, weights_threshold)
        fit = fit_quasi_poisson(x, y, prior_weights=omega, offset=offset)
        phi = np.maximum(dispersion(fit), 1.0)
    summary_disp = dispersion(fit, None if keep_weights or omega is None else omega)
    return _Model(fit, phi, summary_disp), converged


def _power_threshold(
    mu0: np.ndarray, se: np.ndarray, phi: np.ndarray, power_trans: str, z: float
) -> np.ndarray:
    """Upper limit of ``algo.farrington.threshold`` / ``algo.farrington.threshold.farrington``:
    ``(mu0^e + z * se_e)^(1/e)`` with ``se_e`` from the delta method on the power scale."""
    if power_trans not in _EXPONENTS:
        raise ValueError(f"power_trans: one of {sorted(_EXPONENTS)}")
    e = _EXPONENTS[power_trans]
    tau = phi + se**2 / mu0
    se_e = {1.0: np.sqrt(mu0 * tau), 0.5: np.sqrt(tau / 4)}.get(
        e, np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
    )
    with np.errstate(invalid="ignore"):
        return (mu0**e + z * se_e) ** (1 / e)


# ----------------------------------------------------------------------------------------------
# Discrete quantiles as R 4.2's nmath (qpois, qnbinom)
# ----------------------------------------------------------------------------------------------


def _q_discrete(
    p: float,
    cdf,
    params: tuple[np.ndarray, np.ndarray],
    mean: np.ndarray,
    sd: np.ndarray,
    skew: np.ndarray,
) -> np.ndarray:
    """Smallest y >= 0 with ``cdf(y, *params) >= p * (1 - 64 eps)``, as R's discrete quantiles
    (nmath ``qpois``/``qnbinom``: Cornish-Fisher start, fuzz for left continuity). R walks from
    the start in growing steps; a bracket and bisection find the same integer."""
    z = special.ndtri(p)
    start = np.maximum(np.round(mean + sd * (z + skew * (z * z - 1) / 6)), 0.0)
    hi = np.where(np.isfinite(start), start, 0.0)
    lo, step = hi - 1, np.ones_like(hi)
    target = p * (1 - 64 * _EPS)

    def reaches(k: np.ndarray, i: np.ndarray) -> np.ndarray:
        return cdf(k, *(q[i] for q in params)) >= target

    todo = np.arange(hi.size)
    while todo.size:  # bracket: cdf(lo) < target <= cdf(hi), lo = -1 standing for cdf = 0
        up = ~reaches(hi[todo], todo) & np.isfinite(hi[todo])
        down = ~up & (lo[todo] >= 0)
        down[down] = reaches(lo[todo[down]], todo[down])
        i_up, i_down = todo[up], todo[down]
        lo[i_up], hi[i_up] = hi[i_up], hi[i_up] + step[i_up]
        hi[i_down], lo[i_down] = lo[i_down], np.maximum(lo[i_down] - step[i_down], -1.0)
        todo = todo[up | down]
        step[todo] *= 2
    todo = np.arange(hi.size)
    while todo.size:  # bisection
        mid = np.floor((lo[todo] + hi[todo]) / 2)
        keep = (mid > lo[todo]) & (mid < hi[todo])
        todo, mid = todo[keep], mid[keep]
        ok = reaches(mid, todo)
        hi[todo[ok]], lo[todo[~ok]] = mid[ok], mid[~ok]
    return np.where(reaches(hi, np.arange(hi.size)), hi, np.nan)


def _qpois(p: float, lam: np.ndarray) -> np.ndarray:
    sd = np.sqrt(lam)
    return _q_discrete(p, lambda k, m: special.gammaincc(k + 1, m), (lam,), lam, sd, 1 / sd)


def _qnbinom(p: float, size: np.ndarray, prob: np.ndarray) -> np.ndarray:
    q = 1 / prob
    pp = (1 - prob) * q
    sd = np.sqrt(size * pp * q)

    def cdf(k: np.ndarray, n: np.ndarray, pr: np.ndarray) -> np.ndarray:
        return special.betainc(n, k + 1, pr)

    return _q_discrete(p, cdf, (size, prob), size * pp, sd, (q + pp) / sd)


def _noufaily_upper(
    eta0: np.ndarray,
    se_eta0: np.ndarray,
    phi: np.ndarray,
    alpha: float,
    method: str,
    needed: np.ndarray,
) -> np.ndarray:
    """Upper limit of ``algo.farrington.threshold.noufaily``: negative binomial (Poisson when
    ``phi == 1``) ``1 - alpha`` quantile with mean ``exp(eta0)`` (nbPlugin) or its upper
    ``1 - alpha`` confidence limit (muan); NA when that mean is infinite. Computed only where
    ``needed`` (NaN elsewhere)."""
    with np.errstate(over="ignore"):
        mu = np.exp(eta0 if method == "nbPlugin" else eta0 + special.ndtri(1 - alpha) * se_eta0)
    upper = np.full(mu.shape, np.nan)
    finite = np.isfinite(mu) & needed
    nb = finite & (phi > 1)
    po = finite & (phi == 1)
    if nb.any():
        upper[nb] = _qnbinom(1 - alpha, mu[nb] / (phi[nb] - 1), 1 / phi[nb])
    if po.any():
        upper[po] = _qpois(1 - alpha, mu[po])
    return upper


# ----------------------------------------------------------------------------------------------
# farringtonFlexible
# ----------------------------------------------------------------------------------------------


def _reference_time_points(days: list[dt.date], k: int, b: int) -> list[dt.date]:
    """``algo.farrington.referencetimepoints`` for weekly dates: the same date 0..b years back,
    moved to the weekday of ``days[k]`` (the nearer of the two candidates, the first on ties)."""
    t0 = days[k]
    out = []
    for i in range(b + 1):
        ref = _years_back(t0, i)
        a = ref - dt.timedelta(days=_wday(ref) - _wday(t0))
        other = a + dt.timedelta(days=-7 if a > ref else 7)
        out.append(other if abs((a - ref).days) > abs((other - ref).days) else a)
    return out


def _blocks(ref_idx: list[int], n_weeks: int, now: int, b: int, w: int, p: int) -> np.ndarray:
    """R's ``blocks``: the period factor (1..p, NaN outside) over the weeks, 1-based indices."""
    factors = np.full(n_weeks + 1, np.nan)  # position 0 unused (R is 1-based)

    def assign(idx: list[int], value: float) -> None:
        if min(idx) < 0:
            raise ValueError("b, w: the reference windows start before the first week")
        for i in idx:
            if 0 < i <= n_weeks:
                factors[i] = value

    assign(_rseq(now - w, now), p)
    weeks = sorted(ref_idx, reverse=True)
    for i in range(b):
        ref_week = weeks[i + 1]
        assign(_rseq(ref_week - w, ref_week + w), p)
        if p != 1:
            period = weeks[i] - 2 * w - 1 - ref_week
            if period < p - (2 * w + 1):
                raise ValueError("no_periods: number of factors too big")
            lengths = [period // (p - 1) + (j < period % (p - 1)) for j in range(p - 1)]
            cs = np.cumsum([0, *lengths])
            for j in range(p - 1):
                start = ref_week + w + 1
                assign(_rseq(start + cs[j], start + cs[j + 1] - 1), j + 1)
    return factors


def _flexible_references(
    days: list[dt.date] | None, day_index: dict[dt.date, int], k: int, b: int
) -> list[int]:
    """0-based weeks of ``algo.farrington.referencetimepoints``: by date, or ``k - 52 i`` for an
    ``sts`` without dates (``epochAsDate = FALSE``, ``freq = 52``)."""
    if days is None:
        refs = [k - WEEKS_PER_YEAR * i for i in range(b + 1)]
        if refs[-1] >= 0:
            return refs
    else:
        dates = _reference_time_points(days, k, b)
        if all(r in day_index for r in dates):
            return [day_index[r] for r in dates]
    raise ValueError(f"first: week {k} lacks reference time points; decrease b or start later")


def _flexible_design(
    refs: list[int],
    time: np.ndarray,
    k: int,
    *,
    b: int,
    w: int,
    no_periods: int,
    past_weeks_not_included: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``algo.farrington.data.glm`` and the model matrix of ``formulaGLM``.

    ``refs`` are the 0-based reference time points, ``time`` R's ``wtime`` scale (weeks since
    the first week). Returns the 0-based reference weeks and the design: intercept, ``wtime``
    and the treatment contrasts of ``seasgroups`` when ``no_periods > 1``, with the row for the
    prediction at week ``k`` (period ``no_periods``) appended last. R measures ``wtime`` from
    the first reference week and contrasts against period 1; here ``wtime`` is measured from
    week ``k`` and period ``no_periods`` is the baseline, so that the prediction row is
    ``(1, 0, 0, ...)``. The model is the same; the prediction and its standard error stay
    accurate when some periods have only zero counts (fitted means near 1e-10), where R's
    parametrisation cancels badly.
    """
    now = k + 1
    factors = _blocks([r + 1 for r in refs], time.size, now, b, w, no_periods)
    excluded = _rseq(now - past_weeks_not_included, now)
    if min(excluded) < 0:
        raise ValueError("past_weeks_not_included: reaches before the first week")
    ids = factors.copy()
    ids[[i for i in excluded if i > 0]] = np.nan
    idx = np.flatnonzero(~np.isnan(ids)) - 1
    cols = [np.ones(idx.size + 1), time[[*idx, k]] - time[k]]
    if no_periods != 1:
        groups = np.append(factors[idx + 1], no_periods)
        levels = np.unique(groups[:-1])
        if no_periods not in levels:
            raise ValueError("no_periods: the current period has no reference weeks")
        cols.extend((groups == lev).astype(float) for lev in levels if lev != no_periods)
    return idx, np.column_stack(cols)


def farrington_flexible(
    observed: np.ndarray,
    dates: np.ndarray | None,
    *,
    first: int,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    trend: bool = True,
    trend_threshold: float = 0.05,
    alpha: float = 0.05,
    past_weeks_not_included: int | None = None,
    no_periods: int = 1,
    threshold_method: str = "delta",
    limit54: Sequence[int] = (5, 4),
    power_trans: str = "2/3",
    population_offset: bool = False,
    population: np.ndarray | None = None,
) -> DetectorResult:
    """R ``surveillance::farringtonFlexible`` (1.20.3, R/farringtonFlexible.R) on weekly series.

    Parameters are R's control list in snake_case (``pThresholdTrend`` is ``trend_threshold``,
    ``powertrans`` is ``power_trans``; R's ``glmWarnings``, ``verbose`` and ``fitFun`` have no
    counterpart since there is a single fitting function and no console). Defaults are R's;
    ``past_weeks_not_included=None`` means ``w``. Every week from ``first`` (0-based) to the end
    is evaluated; ``population`` (same shape as ``observed``) is needed only with
    ``population_offset``. Use ``**NOUFAILY_PRESET`` for Noufaily et al. (2013).
    ``dates=None`` is R's ``sts`` without dates (``epochAsDate = FALSE``, ``freq = 52``): the
    reference weeks are then exactly 52, 104, ... weeks back instead of the same date.
    """
    obs, single = _as_matrix(observed)
    days_np = _check(obs, dates, first, limit54)
    if threshold_method not in ("delta", "nbPlugin", "muan"):
        raise ValueError("threshold_method: one of 'delta', 'nbPlugin', 'muan'")
    pwni = w if past_weeks_not_included is None else past_weeks_not_included
    log_pop = None
    if population_offset:
        if population is None:
            raise ValueError("population: required with population_offset")
        log_pop = np.log(np.atleast_2d(np.asarray(population, dtype=float)))
        if log_pop.shape != obs.shape:
            raise ValueError("population: must have the shape of observed")
    if days_np is None:
        days, day_index, time = None, {}, np.arange(obs.shape[1], dtype=float)
    else:
        days = [_to_date(d) for d in days_np]
        day_index = {d: i for i, d in enumerate(days)}
        time = (days_np - days_np[0]) / (days_np[1] - days_np[0])
    n_series, n_eval = obs.shape[0], obs.shape[1] - first
    upper = np.full((n_series, n_eval), np.nan)
    alarm = np.full((n_series, n_eval), -1, dtype=np.int8)
    z = special.ndtri(1 - alpha)
    fit_args = dict(
        reweight=reweight, weights_threshold=weights_threshold, keep_weights=not reweight
    )
    for col, k in enumerate(range(first, obs.shape[1])):
        refs = _flexible_references(days, day_index, k, b)
        idx, x = _flexible_design(
            refs, time, k, b=b, w=w, no_periods=no_periods, past_weeks_not_included=pwni
        )
        y = obs[:, idx]
        off = None if log_pop is None else log_pop[:, idx]
        off0 = 0.0 if log_pop is None else log_pop[:, k]
        x_plain = np.delete(x, 1, axis=1)
        plain, ok = _fit_fun(x_plain[:-1], y, offset=off, **fit_args)
        eta = plain.link(x_plain[-1], off0)
        phi = plain.phi
        se_eta = plain.link_se(x_plain[-1], plain.summary_disp)
        if trend:
            with_t, ok_t = _fit_fun(x[:-1], y, offset=off, **fit_args)
            eta_t = with_t.link(x[-1], off0)
            p_trend = coef_p_value(with_t.fit, 1, with_t.summary_disp)
            with np.errstate(over="ignore"):
                mu0 = np.maximum(np.exp(eta_t), _EPS)
            keep = ok_t & (b >= 3) & (p_trend < trend_threshold) & (mu0 <= y.max(axis=1))
            ok = keep | ok
            eta = np.where(keep, eta_t, eta)
            phi = np.where(keep, with_t.phi, phi)
            se_eta = np.where(keep, with_t.link_se(x[-1], with_t.summary_disp), se_eta)
        y0 = obs[:, k]
        enough = _enough_cases(obs, k, limit54)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if threshold_method == "delta":
                fitted = np.maximum(np.exp(eta), _EPS)
                ub = _power_threshold(fitted, se_eta * fitted, phi, power_trans, z)
            else:
                fitted = eta
                ub = _noufaily_upper(eta, se_eta, phi, alpha, threshold_method, ok & enough)
            score = (y0 - fitted) / (ub - fitted)
        upper[:, col] = np.where(ok & enough, ub, np.nan)
        fires = enough & ~np.isnan(ub) & (score > 1) & (y0 != 0)
        alarm[:, col] = np.where(ok, fires, -1)
    if single:
        return DetectorResult(upper[0], alarm[0], first)
    return DetectorResult(upper, alarm, first)


# ----------------------------------------------------------------------------------------------
# algo.farrington
# ----------------------------------------------------------------------------------------------


def _reference_weeks(
    days: list[dt.date], day_index: dict[dt.date, int], k: int, b: int, w: int
) -> np.ndarray:
    """``refvalIdxByDate`` for weekly dates: weeks ``-w..w`` around the same date 1..b years
    back, moved to the nearest date with the weekday of ``days[k]``; missing weeks dropped."""
    t0 = days[k]
    out = []
    for j in range(1, b + 1):
        ref = _years_back(t0, j)
        for i in range(-w, w + 1):
            day = ref + dt.timedelta(weeks=i)
            fwd = (_wday(t0) - _wday(day)) % 7
            bwd = (_wday(day) - _wday(t0)) % 7
            day += dt.timedelta(days=fwd if fwd < bwd else -bwd)
            if day in day_index:
                out.append(day_index[day])
    return np.array(out, dtype=int)


def algo_farrington(
    observed: np.ndarray,
    dates: np.ndarray,
    *,
    first: int,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    alpha: float = 0.05,
    trend: bool = True,
    limit54: Sequence[int] = (5, 4),
    power_trans: str = "2/3",
) -> DetectorResult:
    """R ``surveillance::algo.farrington`` (1.20.3, R/algo_farrington.R) with its default
    ``fitFun = "algo.farrington.fitGLM.fast"``, as run by ``farrington()`` on an ``sts`` with
    dates. Defaults are R's (``verbose`` and ``plot`` have no counterpart).

    The trend is kept only when ``b >= 3``, its p-value is below 0.05 and the prediction does not
    extrapolate beyond the largest reference count. Alarm when the count exceeds the upper
    limit of the two-sided ``1 - alpha`` prediction interval and the last ``limit54[1]`` weeks
    hold at least ``limit54[0]`` cases; otherwise the upper bound is reported as 0 (R's quirk).
    """
    obs, single = _as_matrix(observed)
    days_np = _check(obs, dates, first, limit54)
    days = [_to_date(d) for d in days_np]
    day_index = {d: i for i, d in enumerate(days)}
    n_series, n_eval = obs.shape[0], obs.shape[1] - first
    upper = np.zeros((n_series, n_eval))
    alarm = np.zeros((n_series, n_eval), dtype=np.int8)
    z = special.ndtri(1 - alpha / 2)
    fit_args = dict(reweight=reweight, weights_threshold=1.0, keep_weights=True)
    for col, k in enumerate(range(first, obs.shape[1])):
        idx = _reference_weeks(days, day_index, k, b, w)
        if idx.size == 0:
            raise ValueError(f"first: week {k} has no reference weeks")
        y = obs[:, idx]
        x_t = np.column_stack([np.ones(idx.size), idx + 1.0])
        x0_t = np.array([1.0, k + 1.0])
        plain, _ = _fit_fun(x_t[:, :1], y, offset=None, **fit_args)
        eta, phi = plain.link(x0_t[:1]), plain.phi
        var0 = np.einsum("p,spq,q->s", x0_t[:1], plain.fit.cov_unscaled, x0_t[:1])
        if trend:
            with_t, conv = _fit_fun(x_t, y, offset=None, **fit_args)
            eta_t = with_t.link(x0_t)
            p_trend = coef_p_value(with_t.fit, 1, with_t.summary_disp)
            with np.errstate(over="ignore"):
                mu0 = np.maximum(np.exp(eta_t), _EPS)
            # fitGLM.fast drops the trend when its fit does not converge
            keep = conv & (b >= 3) & (p_trend < 0.05) & (mu0 <= y.max(axis=1))
            eta = np.where(keep, eta_t, eta)
            phi = np.where(keep, with_t.phi, phi)
            var0 = np.where(
                keep, np.einsum("p,spq,q->s", x0_t, with_t.fit.cov_unscaled, x0_t), var0
            )
        fitted = np.maximum(np.exp(eta), _EPS)
        se = np.sqrt(phi * var0) * fitted
        with np.errstate(invalid="ignore", divide="ignore"):
            ub = _power_threshold(fitted, se, phi, power_trans, z)
            score = (obs[:, k] - fitted) / (ub - fitted)
        enough = _enough_cases(obs, k, limit54)
        upper[:, col] = np.where(enough, ub, 0.0)
        alarm[:, col] = np.where(np.isnan(ub) & enough, -1, enough & (score > 1))
    if single:
        return DetectorResult(upper[0], alarm[0], first)
    return DetectorResult(upper, alarm, first)
