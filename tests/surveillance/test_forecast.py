"""Forecasts and their back-test, on simulated negative-binomial seasonal series whose truth is
known: intervals cover the truth about as often as they claim, and the back-test scores are
recomputed here from forecasts made on the past alone."""

import numpy as np
import pytest

from songkhoe.surveillance.forecast import (
    MIN_WEEKS,
    MODELS,
    ForecastError,
    backtest,
    forecast,
    seasonal_naive,
)


def seasonal_series(seed: int, weeks: int = 260, level: float = 15.0, size: float = 8.0):
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    mu = level * np.exp(0.9 * np.cos(2 * np.pi * (t - 10) / (365.25 / 7)))
    return rng.negative_binomial(size, size / (size + mu)).astype(float)


def test_forecast_intervals_are_nested_and_cover_the_truth():
    inside80 = inside95 = total = 0
    for seed in range(6):
        y = seasonal_series(seed, weeks=264)
        f = forecast(y[:260], seed=seed)
        assert f.model == "nb-ar-seasonal" and f.mean.shape == (4,)
        assert np.all(f.lower95 <= f.lower80) and np.all(f.lower80 <= f.mean)
        assert np.all(f.mean <= f.upper80) and np.all(f.upper80 <= f.upper95)
        actual = y[260:]
        inside80 += ((f.lower80 <= actual) & (actual <= f.upper80)).sum()
        inside95 += ((f.lower95 <= actual) & (actual <= f.upper95)).sum()
        total += actual.size
    assert inside95 / total >= 0.8 and inside80 / total >= 0.6


def test_backtest_scores_are_those_of_forecasts_from_the_past_only():
    y = seasonal_series(42)
    result = backtest(y, weeks=8, horizon=4, seed=0)
    actual, model, naive, same_week_last_year = [], [], [], []
    for origin in range(y.size - 8, y.size):
        steps = min(4, y.size - origin)
        tampered = y.copy()
        tampered[origin:] = 10_000  # the future must not matter
        f = forecast(tampered[:origin], horizon=steps, seed=origin)
        nf = seasonal_naive(tampered[:origin], horizon=steps)
        for h in range(steps):
            actual.append(y[origin + h])
            model.append((f.mean[h], f.lower80[h], f.upper80[h], f.lower95[h], f.upper95[h]))
            naive.append(nf.mean[h])
            same_week_last_year.append(y[origin + h - 52])
    actual, model, naive = np.array(actual), np.array(model), np.array(naive)
    np.testing.assert_array_equal(naive, same_week_last_year)
    assert result.model.n == actual.size == 4 * 5 + 3 + 2 + 1  # no target past the end
    assert result.model.mae == pytest.approx(np.abs(actual - model[:, 0]).mean())
    assert result.baseline.mae == pytest.approx(np.abs(actual - naive).mean())
    inside80 = ((model[:, 1] <= actual) & (actual <= model[:, 2])).mean()
    inside95 = ((model[:, 3] <= actual) & (actual <= model[:, 4])).mean()
    assert result.model.coverage80 == pytest.approx(inside80)
    assert result.model.coverage95 == pytest.approx(inside95)
    smape = np.mean(2 * np.abs(actual - model[:, 0]) / (actual + model[:, 0]))
    assert result.model.smape == pytest.approx(smape)
    assert [s.n for s in result.model_by_horizon] == [8, 7, 6, 5]
    assert result.models_used == {"nb-ar-seasonal": 8}


def test_the_model_beats_the_seasonal_naive_baseline_on_a_seasonal_series():
    y = seasonal_series(7, weeks=300, level=30.0, size=20.0)
    result = backtest(y, weeks=26)
    assert result.model.mae < result.baseline.mae
    assert result.model.coverage95 >= 0.85


def test_equidispersed_counts_get_the_poisson_fit():
    rng = np.random.default_rng(4)
    t = np.arange(250)
    y = rng.poisson(12 * np.exp(0.7 * np.cos(2 * np.pi * t / (365.25 / 7)))).astype(float)
    f = forecast(y)
    assert f.model in ("nb-ar-seasonal", "nb-ar-seasonal (poisson)")
    expected = 12 * np.exp(0.7 * np.cos(2 * np.pi * np.arange(250, 254) / (365.25 / 7)))
    assert np.all(f.lower80 <= expected) and np.all(expected <= f.upper80)


def test_sparse_and_short_series():
    rng = np.random.default_rng(1)
    sparse = rng.poisson(0.05, 120).astype(float)
    f = forecast(sparse)
    assert f.model.split(" ")[0] in (*MODELS, "poisson-constant")
    assert f.upper95.max() >= 1 and f.mean.max() > 0
    assert forecast(np.zeros(80)).model == "no-cases"
    with pytest.raises(ForecastError, match=str(MIN_WEEKS)):
        forecast(np.ones(MIN_WEEKS - 1))
    with pytest.raises(ForecastError, match="back-test over 26 weeks"):
        backtest(np.ones(70), weeks=26)
    zero = backtest(np.r_[np.ones(60), np.zeros(10)], weeks=5)
    assert np.isfinite(zero.baseline.smape)  # 0/0 weeks count as no error, not NaN
