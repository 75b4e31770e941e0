"""CUSUM against R `surveillance` 1.20.3 algo.cusum (tests/surveillance/data/README.md)."""

import csv
from pathlib import Path

import numpy as np
import pytest

from songkhoe.surveillance.cusum import algo_cusum

DATA = Path(__file__).parent / "data"
CASES = {
    "cusum": {},
    "cusum_rossi": {"trans": "rossi"},
    "cusum_anscombe": {"trans": "anscombe"},
    "cusum_anscombe2nd": {"trans": "anscombe2nd"},
    "cusum_pearsonNegBin": {"trans": "pearsonNegBin"},
    "cusum_none": {"trans": "none"},
    "cusum_k0.5_h4_m3": {"k": 0.5, "h": 4, "m": 3},
}


def _load(name: str, key: str, case: str | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with (DATA / name).open() as handle:
        for row in csv.DictReader(handle):
            if case is None or row["case"] == case:
                out.setdefault(row.get("unit", ""), []).append(row[key])
    return out


def _check(result_ub: np.ndarray, result_alarm: np.ndarray, ub: list[str], alarm: list[str]):
    np.testing.assert_allclose(result_ub, np.array(ub, dtype=float), rtol=1e-6, atol=0)
    np.testing.assert_array_equal(result_alarm, [{"TRUE": 1, "FALSE": 0}[a] for a in alarm])


@pytest.mark.parametrize("case", CASES)
def test_total_series_matches_r(case: str) -> None:
    x = np.array(_load("input_salmNewport_total.csv", "count")[""], dtype=float)
    result = algo_cusum(x, first=x.size - 104, **CASES[case])
    ub = _load("r_salmNewport_total.csv", "upperbound", case)[""]
    alarm = _load("r_salmNewport_total.csv", "alarm", case)[""]
    _check(result.upperbound, result.alarm, ub, alarm)


def test_many_series_at_once_match_r() -> None:
    counts = _load("input_salmNewport_3states.csv", "count")
    ub = _load("r_salmNewport_3states.csv", "upperbound", "cusum")
    alarm = _load("r_salmNewport_3states.csv", "alarm", "cusum")
    x = np.array([counts[unit] for unit in ub], dtype=float)
    result = algo_cusum(x, first=x.shape[1] - 104)
    assert result.alarm.shape == (3, 104) and result.alarm.sum() > 0
    for i, unit in enumerate(ub):
        _check(result.upperbound[i], result.alarm[i], ub[unit], alarm[unit])


def test_zero_reference_mean_is_undecided_like_r_na() -> None:
    result = algo_cusum(np.array([0.0, 0.0, 0.0, 0.0]), first=2)
    assert result.alarm.tolist() == [-1, -1]  # 0/0: R's NA
    assert result.upperbound.tolist() == [0.0, 0.0]  # NA bounds become 0 in R


def test_errors() -> None:
    with pytest.raises(ValueError, match="reference week"):
        algo_cusum(np.ones(5), first=0)
    with pytest.raises(ValueError, match="trans"):
        algo_cusum(np.ones(5), first=2, trans="anscombeNegBin")
