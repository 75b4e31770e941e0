"""Quasi-Poisson GLMs (log link) fitted to many series at once, the way R fits them.

Every series shares one design matrix ``x`` (n × p) and has its own response row. The fit follows
R 4.2 ``stats::glm.fit`` step by step — starting values ``y + 0.1``, iteratively reweighted least
squares with ``mu = pmax(exp(eta), .Machine$double.eps)``, the relative-deviance convergence test
with ``epsilon = 1e-8`` and at most ``maxit = 25`` iterations — so that the converged flag, the
number of iterations and hence the fitted values of degenerate series (all zeros) agree with R.
The weighted least-squares step solves equilibrated normal equations instead of R's pivoted QR;
for the full-rank designs of the Farrington detectors the two agree to rounding.
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
    """
    s, n = y.shape
    p = x.shape[1]
    # X'WX through the distinct columns of the products x_i x_j (few with dummy variables)
    xx, back = np.unique(
        (x[:, :, None] * x[:, None, :]).reshape(n, -1), axis=1, return_inverse=True
    )
    xx, back = np.ascontiguousarray(xx), back.ravel()
    w_prior = np.ones_like(y) if prior_weights is None else prior_weights
    off = np.zeros_like(y) if offset is None else offset
    coef, mu = np.zeros((s, p)), np.zeros_like(y)
    w2, a_last = np.zeros_like(y), np.zeros((s, p, p))
    converged = np.zeros(s, dtype=bool)
    # the rows still iterating, compacted: their index, response, weights, offset and state
    rows, yy, wp, oo, ylogy = np.arange(s), y, w_prior, off, special.xlogy(y, y)
    eta = np.log(y + 0.1)
    m = np.maximum(np.exp(eta), _EPS)
    devold = _dev(yy, ylogy, m, wp)
    for it in range(maxit):
        z = eta - oo + (yy - m) / m
        w2a = wp * m
        a = (w2a @ xx)[:, back].reshape(-1, p, p)
        b = _solve(a, (w2a * z) @ x)
        eta = b @ x.T + oo
        m = np.maximum(np.exp(eta), _EPS)
        dev = _dev(yy, ylogy, m, wp)
        done = np.abs(dev - devold) / (np.abs(dev) + 0.1) < epsilon
        if it == maxit - 1:
            stop = np.ones_like(done)
        else:
            stop = done
        r = rows[stop]
        coef[r], mu[r], w2[r], a_last[r], converged[r] = (
            b[stop],
            m[stop],
            w2a[stop],
            a[stop],
            done[stop],
        )
        if stop.all():
            break
        go = ~stop
        rows, yy, wp, oo, ylogy = rows[go], yy[go], wp[go], oo[go], ylogy[go]
        eta, m, devold = eta[go], m[go], dev[go]
    cov = _inverse(a_last)
    hat = w2 * (np.matmul(x, cov) * x).sum(axis=2)
    hat[hat > 1 - 10 * _EPS] = 1.0
    df_residual = (w_prior != 0).sum(axis=1) - p
    return QuasiPoissonFit(coef, mu, converged, w2, cov, hat, df_residual, y)


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
