"""Quasi-Poisson GLMs (log link) fitted to many series at once, the way R fits them.

Every series shares one design matrix ``x`` (n × p) and has its own response row. The fit follows
R 4.2 ``stats::glm.fit`` step by step — starting values ``y + 0.1``, iteratively reweighted least
squares with ``mu = pmax(exp(eta), .Machine$double.eps)``, the relative-deviance convergence test
with ``epsilon = 1e-8`` and at most ``maxit = 25`` iterations — so that the converged flag, the
number of iterations and hence the fitted values of degenerate series (all zeros) agree with R.
The weighted least-squares steps are solved without R's pivoted QR, by the cheapest route the
design allows (see ``fit_quasi_poisson``); for the full-rank designs of the Farrington detectors
the results agree with R to rounding (about 1e-13 relative).
"""

from dataclasses import dataclass

import numpy as np
from scipy import special

_EPS = np.finfo(float).eps


@dataclass(frozen=True, slots=True)
class QuasiPoissonFit:
    """A fitted quasi-Poisson GLM per series (rows), with R's ``glm`` components.

    ``working_weights`` is R's ``model$weights`` (the IRLS weights of the last iteration),
    ``cov_unscaled`` is ``summary.glm(model)$cov.unscaled`` and ``hat`` is ``hatvalues(model)``.
    """

    coef: np.ndarray  # (s, p)
    mu: np.ndarray  # (s, n) fitted values
    converged: np.ndarray  # (s,) bool
    working_weights: np.ndarray  # (s, n)
    cov_unscaled: np.ndarray  # (s, p, p)
    hat: np.ndarray  # (s, n)
    df_residual: np.ndarray  # (s,)
    y: np.ndarray  # (s, n)


def _dev(y: np.ndarray, ylogy: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Poisson deviance, R ``poisson()$dev.resids`` summed over observations
    (``y log(y / mu)`` written as ``y log y - y log mu``, ``ylogy`` precomputed)."""
    return 2.0 * (weights * (ylogy - y * np.log(mu) - (y - mu))).sum(axis=1)


def _solve(a: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the batched symmetric systems ``a @ b = rhs`` after diagonal equilibration."""
    d = 1.0 / np.sqrt(np.einsum("sii->si", a))
    scaled = a * d[:, :, None] * d[:, None, :]
    return np.linalg.solve(scaled, (rhs * d)[..., None])[..., 0] * d


def _inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of batched symmetric positive-definite matrices, with diagonal equilibration."""
    d = 1.0 / np.sqrt(np.einsum("sii->si", a))
    scaled = a * d[:, :, None] * d[:, None, :]
    return np.linalg.inv(scaled) * d[:, :, None] * d[:, None, :]


class _Sums:
    """``X'WX``, ``X'w`` and ``sum(w)`` for weight rows ``w`` in one matrix product, through the
    distinct columns among the products ``x_i x_j``, the columns of ``x`` and ones (few when
    ``x`` holds dummy variables)."""

    def __init__(self, x: np.ndarray):
        n, p = x.shape
        prods = (x[:, :, None] * x[:, None, :]).reshape(n, -1)
        cols, back = np.unique(
            np.concatenate([prods, x, np.ones((n, 1))], axis=1), axis=1, return_inverse=True
        )
        self.columns, back = np.ascontiguousarray(cols), back.ravel()
        self.p, self.xx, self.x, self.one = p, back[: p * p], back[p * p : -1], back[-1]

    def __call__(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        prod = w @ self.columns
        return prod[:, self.xx].reshape(-1, self.p, self.p), prod[:, self.x], prod[:, self.one]


def _fit_saturated(
    units: np.ndarray,
    unit_of: np.ndarray,
    member: np.ndarray,
    y: np.ndarray,
    w_prior: np.ndarray,
    maxit: int,
    epsilon: float,
) -> QuasiPoissonFit:
    """``fit_quasi_poisson`` when the design has as many distinct rows ("units", e.g. periods)
    as columns and no offset: then R's weighted least-squares step gives each unit the linear
    predictor ``sum(w mu z) / sum(w mu)`` over its observations, which after the first step is
    ``eta + sum(w y) / (mu sum(w)) - 1``; the coefficients solve ``units @ b = eta``."""
    w_unit, wy_unit = w_prior @ member, (w_prior * y) @ member
    ylogy = special.xlogy(y, y)
    const = (w_prior * ylogy).sum(axis=1) - wy_unit.sum(axis=1)
    eta0 = np.log(y + 0.1)
    m0 = np.maximum(np.exp(eta0), _EPS)
    devold = _dev(y, ylogy, m0, w_prior)
    w_obs = w_prior * m0
    sw = w_obs @ member  # sum of the working weights per unit
    eta = ((w_obs * (eta0 + (y - m0) / m0)) @ member) / sw
    s, g = w_unit.shape
    eta_last, m_last, sw_last = np.zeros((s, g)), np.zeros((s, g)), np.zeros((s, g))
    w_last, converged = np.zeros_like(y), np.zeros(s, dtype=bool)
    rows, m_prev = np.arange(s), m0  # the means before the step (per unit from the second on)
    for it in range(maxit):
        m = np.maximum(np.exp(eta), _EPS)
        dev = 2.0 * (
            const[rows] - (wy_unit[rows] * np.log(m)).sum(axis=1) + (w_unit[rows] * m).sum(axis=1)
        )
        done = np.abs(dev - devold) / (np.abs(dev) + 0.1) < epsilon
        stop = np.ones_like(done) if it == maxit - 1 else done
        r = rows[stop]
        eta_last[r], m_last[r], sw_last[r], converged[r] = eta[stop], m[stop], sw[stop], done[stop]
        w_last[r] = w_obs[stop] if it == 0 else w_prior[r] * m_prev[stop][:, unit_of]
        if stop.all():
            break
        go = ~stop
        rows, eta, m_prev, devold = rows[go], eta[go], m[go], dev[go]
        sw = w_unit[rows] * m_prev
        eta = eta + wy_unit[rows] / sw - 1.0
    inv_units = np.linalg.inv(units)
    coef = eta_last @ inv_units.T
    cov = np.einsum("ig,sg,jg->sij", inv_units, 1.0 / sw_last, inv_units)
    hat = w_last / sw_last[:, unit_of]
    hat[hat > 1 - 10 * _EPS] = 1.0
    df_residual = (w_prior != 0).sum(axis=1) - units.shape[1]
    return QuasiPoissonFit(coef, m_last[:, unit_of], converged, w_last, cov, hat, df_residual, y)


def _fit_slope(
    x: np.ndarray,
    j: int,
    units: np.ndarray,
    unit_of: np.ndarray,
    y: np.ndarray,
    w_prior: np.ndarray,
    weighted: bool,
    offset: np.ndarray | None,
    maxit: int,
    epsilon: float,
) -> QuasiPoissonFit:
    """``fit_quasi_poisson`` when the design is one covariate ``t = x[:, j]`` (the trend) plus
    columns with as many distinct rows ("units", e.g. periods) as columns: then ``eta = a[unit] +
    slope * t + offset``, and each step, a system with a diagonal block (one entry per unit) and
    one row for the slope, is solved through its Schur complement instead of a matrix solve."""
    s, n = y.shape
    g = units.shape[0]
    t = x[:, j]
    member = np.eye(g)[unit_of]
    moments = np.concatenate([member, member * t[:, None], member * (t * t)[:, None]], axis=1)
    off = np.zeros_like(y) if offset is None else offset
    ylogy = special.xlogy(y, y)
    wy = w_prior * y
    wy_unit, wy_t = wy @ member, wy @ t
    const = (w_prior * ylogy).sum(axis=1) - wy.sum(axis=1) - (wy * off).sum(axis=1)

    def solve(mom: np.ndarray, r_a: np.ndarray, r_t: np.ndarray):
        """[[diag(sw), swt], [swt', swtt]] @ [d_a; d_t] = [r_a; r_t], mom = (sw, swt, swtt)."""
        sw, swt, swtt = mom[:, :g], mom[:, g : 2 * g], mom[:, 2 * g :].sum(axis=1)
        ratio = swt / sw
        d_t = (r_t - (ratio * r_a).sum(axis=1)) / (swtt - (ratio * swt).sum(axis=1))
        return (r_a - swt * d_t[:, None]) / sw, d_t

    eta = np.log(y + 0.1)
    m = np.maximum(np.exp(eta), _EPS)
    devold = _dev(y, ylogy, m, w_prior)
    w_obs = w_prior * m
    wz = w_obs * (eta - off + (y - m) / m)
    theta = np.column_stack(solve(w_obs @ moments, wz @ member, wz @ t))  # (a, slope)
    design = np.vstack([member.T, t])  # eta = theta @ design (+ offset)
    theta_last, mu = np.zeros((s, g + 1)), np.zeros_like(y)
    w_last, converged = np.zeros_like(y), np.zeros(s, dtype=bool)
    rows, m_prev = np.arange(s), m
    # the per-row inputs of the rows still iterating, compacted when some stop
    wp = w_prior if weighted else None
    off_act = offset
    wy_act, wy_theta, const_act = wy, np.column_stack([wy_unit, wy_t]), const
    for it in range(maxit):
        eta = theta @ design
        if off_act is not None:
            eta += off_act
        m = np.exp(eta)
        low = m < _EPS
        clipped = low.any()
        if clipped:
            m[low] = _EPS
        mom = (m if wp is None else wp * m) @ moments
        wy_eta = np.einsum("sp,sp->s", theta, wy_theta)  # the offset's part is in const
        if clipped:  # there y log(mu) is y log(eps), not y eta
            wy_eta += np.where(low, wy_act * (np.log(_EPS) - eta), 0.0).sum(axis=1)
        dev = 2.0 * (const_act - wy_eta + mom[:, :g].sum(axis=1))
        done = np.abs(dev - devold) / (np.abs(dev) + 0.1) < epsilon
        stop = np.ones_like(done) if it == maxit - 1 else done
        if stop.any():
            r = rows[stop]
            theta_last[r], mu[r], converged[r] = theta[stop], m[stop], done[stop]
            # R's model$weights: the working weights of the last step, w * mu before it
            w_last[r] = w_obs[stop] if it == 0 else w_prior[r] * m_prev[stop]
            if stop.all():
                break
            go = ~stop
            rows, theta, m, dev, mom = rows[go], theta[go], m[go], dev[go], mom[go]
            wp = None if wp is None else wp[go]
            off_act = None if off_act is None else off_act[go]
            wy_act, wy_theta, const_act = wy_act[go], wy_theta[go], const_act[go]
        # Newton form of the step: the right-hand side is X'(w (y - mu)) in (a, slope)
        r_a = wy_theta[:, :g] - mom[:, :g]
        r_t = wy_theta[:, g] - mom[:, g : 2 * g].sum(axis=1)
        theta = theta + np.column_stack(solve(mom, r_a, r_t))
        m_prev, devold = m, dev
    coef = np.insert(theta_last[:, :g] @ np.linalg.inv(units).T, j, theta_last[:, g], axis=1)
    a_mat, _, _ = _Sums(x)(w_last)
    cov = _inverse(a_mat)
    hat = w_last * (np.matmul(x, cov) * x).sum(axis=2)
    hat[hat > 1 - 10 * _EPS] = 1.0
    df_residual = (w_prior != 0).sum(axis=1) - x.shape[1]
    return QuasiPoissonFit(coef, mu, converged, w_last, cov, hat, df_residual, y)


def fit_quasi_poisson(
    x: np.ndarray,
    y: np.ndarray,
    *,
    prior_weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> QuasiPoissonFit:
    """Fit ``glm(y ~ x - 1, family = quasipoisson(link = "log"))`` to every row of ``y``.

    Mirrors R 4.2 ``stats::glm.fit`` (IRLS, ``glm.control(epsilon = 1e-8, maxit = 25)``); rows
    that reach ``maxit`` keep the state of the last iteration and ``converged`` False, as in R.

    The iterates are R's, computed with less arithmetic. After the first, the weighted
    least-squares step is written ``b + (X'WX)^-1 X'(w (y - mu))``, the same solution as R's
    ``(X'WX)^-1 X'Wz``, and the deviance ``2 sum w (y log y - y - y eta + mu)`` takes
    ``sum w y eta`` from ``b . X'(w y)`` and ``sum w mu`` from ``X'WX``: an iteration costs one
    ``exp`` and two matrix products and a small solve per row. Two designs of the Farrington
    detectors go faster still: periods without trend and no offset (``_fit_saturated``: a
    scalar step per period), and periods plus one covariate such as the trend (``_fit_slope``:
    the step through its Schur complement).
    """
    s, n = y.shape
    p = x.shape[1]
    w_prior = np.ones_like(y) if prior_weights is None else prior_weights
    ylogy = special.xlogy(y, y)
    wy = w_prior * y
    off = np.zeros_like(y) if offset is None else offset
    # the distinct design rows ("units") and each observation's unit
    units, unit_of, member = x, np.arange(n), None
    if offset is None:
        distinct, of = np.unique(x, axis=0, return_inverse=True)
        if distinct.shape[0] < n:
            units, unit_of = distinct, of.ravel()
            member = np.eye(units.shape[0])[unit_of]
            if units.shape[0] == p and np.linalg.matrix_rank(units) == p:
                return _fit_saturated(units, unit_of, member, y, w_prior, maxit, epsilon)
    if member is None:
        for j in range(p):  # a covariate (trend) plus units (periods)?
            distinct, of = np.unique(np.delete(x, j, axis=1), axis=0, return_inverse=True)
            if distinct.shape[0] == p - 1 and np.linalg.matrix_rank(distinct) == p - 1:
                weighted = prior_weights is not None
                return _fit_slope(
                    x, j, distinct, of.ravel(), y, w_prior, weighted, offset, maxit, epsilon
                )

    def per_unit(v: np.ndarray) -> np.ndarray:
        return v if member is None else v @ member

    sums = _Sums(units)
    # per row: unit weights, X'(w y), the deviance's constant part; compacted as rows converge
    rows = np.arange(s)
    w_unit = None if prior_weights is None and member is None else per_unit(w_prior)
    xwy = wy @ x
    const = (w_prior * ylogy).sum(axis=1) - wy.sum(axis=1) - (wy * off).sum(axis=1)
    wy_unit = per_unit(wy)
    # first step from eta = log(y + 0.1), observation by observation
    eta = np.log(y + 0.1)
    m = np.maximum(np.exp(eta), _EPS)
    devold = _dev(y, ylogy, m, w_prior)
    w_obs = w_prior * m
    a, _, _ = sums(per_unit(w_obs))
    rhs = per_unit(w_obs * (eta - off + (y - m) / m)) @ units
    b = np.zeros((s, p))
    coef, mu_unit = np.zeros((s, p)), np.zeros((s, units.shape[0]))
    w_last, a_last = np.zeros_like(y), np.zeros((s, p, p))
    converged = np.zeros(s, dtype=bool)
    m_prev = m  # the means before the step (per unit from the second step on)
    # the per-row inputs of the rows still iterating, compacted when some stop
    w_act, xwy_act, const_act, wyu_act = w_unit, xwy, const, wy_unit
    off_act = None if offset is None else off
    for it in range(maxit):
        b = b + _solve(a, rhs)
        eta = b @ units.T
        if off_act is not None:
            eta += off_act
        m = np.exp(eta)
        low = m < _EPS
        clipped = low.any()
        if clipped:
            m[low] = _EPS
        a_new, xwm, wm = sums(m if w_act is None else w_act * m)
        wy_eta = np.einsum("sp,sp->s", b, xwy_act)  # the offset's part is in const
        if clipped:  # there y log(mu) is y log(eps), not y eta
            wy_eta += np.where(low, wyu_act * (np.log(_EPS) - eta), 0.0).sum(axis=1)
        dev = 2.0 * (const_act - wy_eta + wm)
        done = np.abs(dev - devold) / (np.abs(dev) + 0.1) < epsilon
        stop = np.ones_like(done) if it == maxit - 1 else done
        if stop.any():
            r = rows[stop]
            coef[r], mu_unit[r], a_last[r], converged[r] = b[stop], m[stop], a[stop], done[stop]
            # R's model$weights: the working weights of the last step, w * mu before it
            w_last[r] = w_obs[stop] if it == 0 else w_prior[r] * m_prev[stop][:, unit_of]
            if stop.all():
                break
            go = ~stop
            rows, b, m, dev, a_new, xwm = rows[go], b[go], m[go], dev[go], a_new[go], xwm[go]
            xwy_act, const_act, wyu_act = xwy_act[go], const_act[go], wyu_act[go]
            w_act = None if w_act is None else w_act[go]
            off_act = None if off_act is None else off_act[go]
        m_prev, devold, a, rhs = m, dev, a_new, xwy_act - xwm
    mu = mu_unit[:, unit_of] if member is not None else mu_unit
    cov = _inverse(a_last)
    h_unit = (np.matmul(units, cov) * units).sum(axis=2)
    hat = w_last * h_unit[:, unit_of] if member is not None else w_last * h_unit
    hat[hat > 1 - 10 * _EPS] = 1.0
    df_residual = (w_prior != 0).sum(axis=1) - p
    return QuasiPoissonFit(coef, mu, converged, w_last, cov, hat, df_residual, y)


def dispersion(fit: QuasiPoissonFit, weights: np.ndarray | None = None) -> np.ndarray:
    """``summary.glm(model)$dispersion`` of a quasi family: Pearson statistic over df.

    R computes ``sum((model$weights * model$residuals^2)[model$weights > 0]) / df.residual``
    with working residuals ``(y - mu) / mu``; ``weights`` replaces ``model$weights`` (the
    surveillance package overwrites them, see ``farrington.py``). NaN when no residual df.
    """
    w = fit.working_weights if weights is None else weights
    res = (fit.y - fit.mu) / fit.mu
    total = np.where(w > 0, w * res**2, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(fit.df_residual > 0, total / fit.df_residual, np.nan)


def coef_p_value(fit: QuasiPoissonFit, j: int, disp: np.ndarray) -> np.ndarray:
    """Two-sided t-test p-value of coefficient ``j``, as ``summary.glm(...)$coefficients[j, 4]``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = fit.coef[:, j] / np.sqrt(disp * fit.cov_unscaled[:, j, j])
        return np.where(fit.df_residual > 0, 2 * special.stdtr(fit.df_residual, -np.abs(t)), np.nan)
