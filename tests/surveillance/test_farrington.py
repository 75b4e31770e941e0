"""The Farrington detectors against R `surveillance` 1.20.3 reference outputs.

References in tests/surveillance/data: the shared golden file (farringtonFlexible default and
Noufaily preset on Salmonella Newport) and outputs of tools/farrington_reference.R (R 4.2.2,
surveillance 1.20.3) for farringtonFlexible (default, Noufaily, Noufaily with "muan", no
reweighting) and algo.farrington (default) on that series and on 17 synthetic sparse series.
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from songkhoe.surveillance.farrington import (
    NOUFAILY_PRESET,
    algo_farrington,
    farrington_flexible,
)

DATA = Path(__file__).parent / "data"
# The port agrees with R to about 3e-14 relative (rounding only); 1e-9 leaves room for other
# BLAS/LAPACK builds and is far inside the goal of 1e-6.
RTOL = 1e-9
ALARM = {"TRUE": 1, "FALSE": 0, "NA": -1}

METHODS = {
    "ff_default": lambda obs, dates, first: farrington_flexible(obs, dates, first=first),
    "ff_noufaily": lambda obs, dates, first: farrington_flexible(
        obs, dates, first=first, **NOUFAILY_PRESET
    ),
    "ff_muan": lambda obs, dates, first: farrington_flexible(
        obs, dates, first=first, **{**NOUFAILY_PRESET, "threshold_method": "muan"}
    ),
    "ff_noreweight": lambda obs, dates, first: farrington_flexible(
        obs, dates, first=first, reweight=False
    ),
    "farrington": lambda obs, dates, first: algo_farrington(obs, dates, first=first),
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _input(name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = _rows(DATA / name)
    units = list(dict.fromkeys(r.get("unit", "total") for r in rows))
    dates = np.array(sorted({r["date"] for r in rows}), dtype="datetime64[D]")
    obs = np.array([[int(r["count"]) for r in rows if r.get("unit", "total") == u] for u in units])
    return units, dates, obs


def _reference(rows: list[dict[str, str]], method: str, shape: tuple[int, int]):
    ub = np.array([np.nan if r[f"{method}_ub"] == "NA" else float(r[f"{method}_ub"]) for r in rows])
    alarm = np.array([ALARM[r[f"{method}_alarm"]] for r in rows])
    return ub.reshape(shape), alarm.reshape(shape)


def _assert_same(result, ub: np.ndarray, alarm: np.ndarray) -> None:
    np.testing.assert_allclose(result.upperbound, ub, rtol=RTOL, atol=0, equal_nan=True)
    np.testing.assert_array_equal(result.alarm, alarm)


@pytest.mark.parametrize("method", ["ff_default", "ff_noufaily"])
def test_golden_salm_newport(method: str) -> None:
    _, dates, obs = _input("input_salmNewport_total.csv")
    golden = _rows(DATA / "golden_salmNewport_total_R_surveillance_1.20.3.csv")
    first = obs.shape[1] - len(golden)
    assert [r["date"] for r in golden] == [str(d) for d in dates[first:]]
    ub, alarm = _reference(golden, method, (len(golden),))
    result = METHODS[method](obs[0], dates, first)
    assert result.first == first
    assert result.upperbound.shape == result.alarm.shape == (len(golden),)
    assert result.alarm.dtype == np.int8
    _assert_same(result, ub, alarm)


INPUTS = {"salmNewport_total": "input_salmNewport_total.csv", "sim": "farrington_input_sim.csv"}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("name", list(INPUTS))
def test_against_r(method: str, name: str) -> None:
    units, dates, obs = _input(INPUTS[name])
    ref = _rows(DATA / f"farrington_R_{name}.csv")
    n_eval = len(ref) // len(units)
    ub, alarm = _reference(ref, method, (len(units), n_eval))
    _assert_same(METHODS[method](obs, dates, obs.shape[1] - n_eval), ub, alarm)


def test_r_quirks_for_undecided_weeks() -> None:
    """Too few recent cases: farringtonFlexible gives NA and no alarm, algo.farrington 0."""
    _, dates, obs = _input("farrington_input_sim.csv")
    first = obs.shape[1] - 52
    flex = farrington_flexible(obs, dates, first=first)
    old = algo_farrington(obs, dates, first=first)
    recent = np.stack([obs[:, k - 3 : k + 1].sum(axis=1) for k in range(first, obs.shape[1])], 1)
    few = recent < 5
    assert few.any()
    assert np.isnan(flex.upperbound[few]).all() and (flex.alarm[few] == 0).all()
    assert (old.upperbound[few] == 0).all() and (old.alarm[few] == 0).all()


def test_bad_input() -> None:
    _, dates, obs = _input("input_salmNewport_total.csv")
    with pytest.raises(ValueError, match="observed"):
        farrington_flexible(-obs, dates, first=500)
    with pytest.raises(ValueError, match="dates"):
        farrington_flexible(obs, dates[1:], first=500)
    with pytest.raises(ValueError, match="first"):
        farrington_flexible(obs, dates, first=100)
    with pytest.raises(ValueError, match="threshold_method"):
        farrington_flexible(obs, dates, first=500, threshold_method="exact")


def test_population_offset_against_r() -> None:
    """populationOffset = TRUE: three series with a changing population (farrington_R_population
    from tools/farrington_reference.R)."""
    rows = _rows(DATA / "farrington_input_population.csv")
    units, dates, obs = _input("farrington_input_population.csv")
    pop = np.array([[float(r["population"]) for r in rows if r["unit"] == u] for u in units])
    ref = _rows(DATA / "farrington_R_population.csv")
    n_eval = len(ref) // len(units)
    first = obs.shape[1] - n_eval
    ub, alarm = _reference(ref, "ff_population", (len(units), n_eval))
    result = farrington_flexible(obs, dates, first=first, population_offset=True, population=pop)
    _assert_same(result, ub, alarm)
    plain, _ = _reference(ref, "ff_default", (len(units), n_eval))
    decided = ~np.isnan(ub)
    assert decided.sum() > 20 and not np.allclose(ub[decided], plain[decided], rtol=1e-3)
    with pytest.raises(ValueError, match="population"):
        farrington_flexible(obs, dates, first=first, population_offset=True)


def test_sts_without_dates_steps_back_52_weeks() -> None:
    """dates=None (R's sts without epochAsDate): reference weeks exactly 52 weeks apart, so the
    result differs from the date-based one only where a year has 53 weeks of Mondays."""
    _, dates, obs = _input("input_salmNewport_total.csv")
    by_date = farrington_flexible(obs, dates, first=400, **NOUFAILY_PRESET)
    by_index = farrington_flexible(obs, None, first=400, **NOUFAILY_PRESET)
    assert by_index.upperbound.shape == by_date.upperbound.shape
    assert not np.array_equal(by_index.upperbound, by_date.upperbound, equal_nan=True)
    with pytest.raises(ValueError, match="reference time points"):
        farrington_flexible(obs, None, first=4 * 52, **{**NOUFAILY_PRESET, "b": 5})
