"""Short-term forecasts of weekly case counts with prediction intervals, and their back-test
(pure: arrays in, arrays out).

Model: a negative-binomial (NB2) log-linear autoregression with a yearly seasonal cycle and a
trend,

    log mu_t = b0 + b1 t/52 + sum_{k=1,2} (c_k sin(2 pi k t/P) + d_k cos(2 pi k t/P))
               + g log(1 + y_{t-1}),   y_t ~ NB2(mu_t, alpha),   P = 365.25/7,

the log-linear count autoregression of Fokianos & Tjøstheim (J Multivar Anal 2011;102:563-78)
as in R `tscount` (Liboschik, Fokianos & Fried, J Stat Softw 2017;82(5)) with the
negative-binomial response of Christou & Fokianos (J Time Ser Anal 2014;35:55-78), fitted by
maximum likelihood (statsmodels NegativeBinomial, NB2; the Poisson fit where the data show no
over-dispersion and alpha goes to 0). Sparse series where that fails fall back to the model
without the autoregressive and trend terms, then to a constant mean; each forecast says which
model it used.

Prediction intervals come from simulating `PATHS` sample paths: each draws the coefficients from
their estimated asymptotic normal distribution (parameter uncertainty), then each week's count
from NB2 given the path's previous count, so the intervals widen with the horizon. The point
forecast is the mean of the paths; the 80% and 95% intervals are their 10-90% and 2.5-97.5%
quantiles.

Baseline: the seasonal naive forecast (the count of the same week a year earlier, 52 weeks
back), with intervals from the empirical quantiles of the training data's 52-week differences
(Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., sections 5.2 and 5.5).

Back-test: rolling origin (Tashman, Int J Forecast 2000;16:437-50): for each of the last
`weeks` weeks as the first forecast week, both models are fitted on the weeks before it only and
forecast up to `horizon` weeks; every forecast whose target week is observed is scored. MAE;
sMAPE = mean of 2|y - f| / (|y| + |f|), taken as 0 when y = f = 0 (counts have zero weeks, where
MAPE is undefined); coverage = share of observed counts inside the 80% / 95% intervals.
"""

import warnings
from dataclasses import dataclass

import numpy as np

PERIOD = 365.25 / 7
HORIZON = 4
PATHS = 2000
MIN_WEEKS = 60
SEASON = 52
LEVELS = {"80": (0.10, 0.90), "95": (0.025, 0.975)}
MODELS = ("nb-ar-seasonal", "nb-seasonal", "nb-constant")


class ForecastError(ValueError):
    """A series too short to forecast."""


@dataclass(frozen=True, slots=True)
class Forecast:
    """Forecasts for `horizon` weeks after the series: mean and interval bounds, and the model
    used (one of MODELS, or "seasonal-naive")."""

    mean: np.ndarray
    lower80: np.ndarray
    upper80: np.ndarray
    lower95: np.ndarray
    upper95: np.ndarray
    model: str


def _design(t: np.ndarray, model: str) -> np.ndarray:
    """Columns of the model without the autoregressive term, at times `t`."""
    columns = [np.ones_like(t, dtype=float)]
    if model == "nb-constant":
        return np.column_stack(columns)
    if model == "nb-ar-seasonal":
        columns.append(t / SEASON)
    for k in (1, 2):
        columns += [np.sin(2 * np.pi * k * t / PERIOD), np.cos(2 * np.pi * k * t / PERIOD)]
    return np.column_stack(columns)


def _fit(y: np.ndarray, model: str):
    """Maximum-likelihood fit of `model` on counts `y`: (params with alpha last, covariance,
    response). NB2 first; where alpha goes to its boundary 0 (no over-dispersion, NB2 does not
    converge) the Poisson fit, alpha 0. None if neither converges."""
    from statsmodels.discrete.discrete_model import NegativeBinomial, Poisson

    t = np.arange(y.size, dtype=float)
    x = _design(t, model)
    if model == "nb-ar-seasonal":
        x = np.column_stack([x[1:], np.log1p(y[:-1])])
        y = y[1:]
    for family in ("nb2", "poisson"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if family == "nb2":
                    fitted = NegativeBinomial(y, x, loglike_method="nb2")
                else:
                    fitted = Poisson(y, x)
                result = fitted.fit(disp=0, maxiter=300, method="newton")
                params, cov = np.asarray(result.params), np.asarray(result.cov_params())
            except (np.linalg.LinAlgError, ValueError):
                continue
        if family == "poisson":
            params = np.append(params, 0.0)
            cov = np.pad(cov, ((0, 1), (0, 1)))
        ok = result.mle_retvals.get("converged", False) and np.all(np.isfinite(params))
        if ok and np.all(np.isfinite(cov)) and np.abs(params[:-1]).max() <= 50:
            return params, cov, family
    return None


def _simulate(
    y: np.ndarray, model: str, params: np.ndarray, cov: np.ndarray, horizon: int, seed: int
) -> np.ndarray:
    """Sample paths (PATHS, horizon) of the fitted model after the series `y`."""
    rng = np.random.default_rng(seed)
    try:
        draws = rng.multivariate_normal(params, cov, size=PATHS, method="cholesky")
    except np.linalg.LinAlgError:
        draws = rng.multivariate_normal(params, cov, size=PATHS, method="eigh")
    beta, alpha = draws[:, :-1], np.clip(draws[:, -1], 1e-8, None)
    t = np.arange(y.size, y.size + horizon, dtype=float)
    x = _design(t, model)
    paths = np.empty((PATHS, horizon))
    previous = np.full(PATHS, y[-1], dtype=float)
    for h in range(horizon):
        eta = beta[:, : x.shape[1]] @ x[h]
        if model == "nb-ar-seasonal":
            eta = eta + beta[:, -1] * np.log1p(previous)
        mu = np.exp(np.clip(eta, -30, 15))
        size = 1 / alpha
        paths[:, h] = rng.negative_binomial(size, size / (size + mu))
        previous = paths[:, h]
    return paths


def _summarise(paths: np.ndarray, model: str) -> Forecast:
    q = {level: np.quantile(paths, bounds, axis=0) for level, bounds in LEVELS.items()}
    return Forecast(paths.mean(axis=0), *q["80"], *q["95"], model)


def forecast(counts: np.ndarray, *, horizon: int = HORIZON, seed: int = 0) -> Forecast:
    """Forecast the `horizon` weeks after the weekly `counts` (see the module doc)."""
    y = np.asarray(counts, dtype=float)
    if y.size < MIN_WEEKS:
        raise ForecastError(f"a forecast needs at least {MIN_WEEKS} weeks, the series has {y.size}")
    if not y.any():  # no case in the whole series: nothing to fit
        zeros = np.zeros(horizon)
        return Forecast(zeros, zeros, zeros, zeros, zeros, "no-cases")
    for model in MODELS:
        fitted = _fit(y, model)
        if fitted is not None:
            params, cov, family = fitted
            name = model if family == "nb2" else f"{model} (poisson)"
            return _summarise(_simulate(y, model, params, cov, horizon, seed), name)
    rng = np.random.default_rng(seed)  # too sparse for NB2 (alpha -> 0): Poisson, its MLE mean
    return _summarise(rng.poisson(y.mean(), (PATHS, horizon)).astype(float), "poisson-constant")


def seasonal_naive(counts: np.ndarray, *, horizon: int = HORIZON) -> Forecast:
    """The count 52 weeks before each target week, with empirical-quantile intervals."""
    y = np.asarray(counts, dtype=float)
    if y.size < SEASON + 1:
        raise ForecastError(f"the seasonal naive forecast needs more than {SEASON} weeks")
    point = np.array([y[y.size + h - SEASON] for h in range(horizon)])
    errors = y[SEASON:] - y[:-SEASON]
    bounds = {level: np.quantile(errors, b) for level, b in LEVELS.items()}

    def clip(values: np.ndarray) -> np.ndarray:
        return np.clip(values, 0, None)

    return Forecast(
        point,
        clip(point + bounds["80"][0]),
        clip(point + bounds["80"][1]),
        clip(point + bounds["95"][0]),
        clip(point + bounds["95"][1]),
        "seasonal-naive",
    )


@dataclass(frozen=True, slots=True)
class Scores:
    """Accuracy of one method over the scored forecasts."""

    n: int
    mae: float
    smape: float
    coverage80: float
    coverage95: float


def score(actual: np.ndarray, forecasts: list[Forecast], horizons: np.ndarray) -> Scores:
    """Scores of forecasts (one per actual value; `horizons` picks the forecast week, 0-based)."""

    def field(name: str) -> np.ndarray:
        return np.array([getattr(f, name)[h] for f, h in zip(forecasts, horizons, strict=True)])

    point = field("mean")
    error = np.abs(actual - point)
    denominator = np.abs(actual) + np.abs(point)
    smape = np.divide(2 * error, denominator, out=np.zeros_like(error), where=denominator > 0)
    inside80 = (field("lower80") <= actual) & (actual <= field("upper80"))
    inside95 = (field("lower95") <= actual) & (actual <= field("upper95"))
    return Scores(
        int(actual.size),
        float(error.mean()),
        float(smape.mean()),
        float(inside80.mean()),
        float(inside95.mean()),
    )


@dataclass(frozen=True, slots=True)
class Backtest:
    """Rolling-origin back-test: scores of the model and the seasonal naive baseline, overall
    and by horizon (index h: h+1 weeks ahead), and the models the fits used (name: count)."""

    origins: int
    horizon: int
    model: Scores
    baseline: Scores
    model_by_horizon: list[Scores]
    baseline_by_horizon: list[Scores]
    models_used: dict[str, int]


def backtest(
    counts: np.ndarray, *, weeks: int = 26, horizon: int = HORIZON, seed: int = 0
) -> Backtest:
    """Rolling-origin back-test over the last `weeks` weeks (see the module doc)."""
    y = np.asarray(counts, dtype=float)
    if weeks < 1:
        raise ForecastError(f"the back-test needs at least 1 week, got {weeks}")
    if y.size - weeks < MIN_WEEKS:
        raise ForecastError(
            f"a back-test over {weeks} weeks needs {MIN_WEEKS + weeks} weeks, the series has "
            f"{y.size}"
        )
    actual, horizons, model_fc, naive_fc = [], [], [], []
    used: dict[str, int] = {}
    for origin in range(y.size - weeks, y.size):
        steps = min(horizon, y.size - origin)
        train = y[:origin]
        fitted = forecast(train, horizon=steps, seed=seed + origin)
        naive = seasonal_naive(train, horizon=steps)
        used[fitted.model] = used.get(fitted.model, 0) + 1
        for h in range(steps):
            actual.append(y[origin + h])
            horizons.append(h)
            model_fc.append(fitted)
            naive_fc.append(naive)
    a, hs = np.array(actual), np.array(horizons)

    def by_horizon(forecasts: list[Forecast]) -> list[Scores]:
        return [
            score(
                a[hs == h], [f for f, k in zip(forecasts, hs, strict=True) if k == h], hs[hs == h]
            )
            for h in range(horizon)
            if (hs == h).any()
        ]

    return Backtest(
        origins=weeks,
        horizon=horizon,
        model=score(a, model_fc, hs),
        baseline=score(a, naive_fc, hs),
        model_by_horizon=by_horizon(model_fc),
        baseline_by_horizon=by_horizon(naive_fc),
        models_used=used,
    )
