"""EARS C1/C2/C3 against R `surveillance` 1.20.3 earsC (tests/surveillance/data/README.md)."""

import csv
from pathlib import Path

import numpy as np
import pytest

from songkhoe.surveillance.ears import ears_c

DATA = Path(__file__).parent / "data"
CASES = {
    "C1": {"method": "C1"},
    "C2": {"method": "C2"},
    "C3": {"method": "C3"},
    "C1_baseline10_minSigma0.5_alpha0.05": {
        "method": "C1",
        "baseline": 10,
        "min_sigma": 0.5,
        "alpha": 0.05,
    },
    "C2_baseline10_minSigma0.5_alpha0.05": {
        "method": "C2",
        "baseline": 10,
        "min_sigma": 0.5,
        "alpha": 0.05,
    },
    "C3_baseline10_minSigma0.5_alpha0.05": {
        "method": "C3",
        "baseline": 10,
        "min_sigma": 0.5,
        "alpha": 0.05,
    },
}
ALARM = {"TRUE": 1, "FALSE": 0, "NA": -1}


def _counts(name: str) -> dict[str, np.ndarray]:
    units: dict[str, list[float]] = {}
    with (DATA / name).open() as handle:
        for row in csv.DictReader(handle):
            units.setdefault(row.get("unit", ""), []).append(float(row["count"]))
    return {unit: np.array(counts) for unit, counts in units.items()}


def _reference(name: str, case: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Upper bounds and alarms (1/0/-1) per unit of one case of an R output file."""
    out: dict[str, tuple[list[float], list[int]]] = {}
    with (DATA / name).open() as handle:
        for row in csv.DictReader(handle):
            if row["case"] == case:
                ub, alarm = out.setdefault(row.get("unit", ""), ([], []))
                ub.append(float("nan") if row["upperbound"] == "NA" else float(row["upperbound"]))
                alarm.append(ALARM[row["alarm"]])
    return {unit: (np.array(ub), np.array(alarm)) for unit, (ub, alarm) in out.items()}


def _assert_matches(result_ub, result_alarm, ub, alarm) -> None:
    np.testing.assert_array_equal(np.isnan(result_ub), np.isnan(ub))
    np.testing.assert_allclose(result_ub, ub, rtol=1e-6, atol=0, equal_nan=True)
    np.testing.assert_array_equal(result_alarm, alarm)


@pytest.mark.parametrize("case", CASES)
def test_total_series_matches_r(case: str) -> None:
    x = _counts("input_salmNewport_total.csv")[""]
    ((ub, alarm),) = _reference("r_salmNewport_total.csv", case).values()
    result = ears_c(x, first=x.size - 104, **CASES[case])
    assert result.first == x.size - 104
    _assert_matches(result.upperbound, result.alarm, ub, alarm)


@pytest.mark.parametrize("case", ["C1", "C2", "C3"])
def test_many_series_at_once_match_r(case: str) -> None:
    """Three states in one 2-D call; Berlin and Saarland have zero-sd references (C3: NaN)."""
    counts = _counts("input_salmNewport_3states.csv")
    reference = _reference("r_salmNewport_3states.csv", case)
    x = np.stack([counts[unit] for unit in reference])
    result = ears_c(x, first=x.shape[1] - 104, **CASES[case])
    assert result.upperbound.shape == result.alarm.shape == (3, 104)
    for i, (ub, alarm) in enumerate(reference.values()):
        _assert_matches(result.upperbound[i], result.alarm[i], ub, alarm)
    assert (result.alarm == -1).any() == (case == "C3")


@pytest.mark.parametrize("method", ["C1", "C3"])
def test_shared_golden_file(method: str) -> None:
    """The golden file shipped in ../shared (copied here): earsC C1 and C3 with defaults."""
    with (DATA / "golden_salmNewport_total_R_surveillance_1.20.3.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    col = f"ears_{method.lower()}"
    ub = np.array([float(r[f"{col}_ub"]) for r in rows])
    alarm = np.array([ALARM[r[f"{col}_alarm"]] for r in rows])
    x = _counts("input_salmNewport_total.csv")[""]
    result = ears_c(x, first=x.size - len(rows), method=method)
    _assert_matches(result.upperbound, result.alarm, ub, alarm)


def test_defaults_and_quirks() -> None:
    """Small series checked by hand against R 1.20.3: earsC(sts(observed = x), list(method = m))."""
    x = np.array([0, 0, 0, 0, 0, 0, 0, 1, 5, 5, 5, 5, 5, 5, 5, 5], dtype=float)
    c1 = ears_c(x)
    assert c1.first == 7  # R's default range: baseline + 1 (1-based)
    assert c1.upperbound[:3] == pytest.approx([0.0, 1.310855, 6.618740], abs=1e-6)
    assert c1.alarm.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0]  # zero sd: the bound is the mean
    assert ears_c(x, method="C2").first == 9
    c3 = ears_c(x, method="C3")
    assert c3.first == 11
    # C2 = 5/0 = Inf two weeks back: the bound goes to -Inf, clipped to 0 (R: 0, TRUE)
    assert c3.upperbound == pytest.approx([0.0, 0.0, 5.747420, 8.661059, 9.210387], abs=1e-6)
    assert c3.alarm.tolist() == [1, 1, 0, 0, 0]
    # all-zero reference: C2 = 0/0 = NaN, so R's upper bound is NaN and the alarm NA
    silent = ears_c(np.r_[np.zeros(14), 3.0], method="C3")
    assert np.isnan(silent.upperbound).all() and silent.alarm.tolist() == [-1] * 4
    floor = ears_c(x, min_sigma=1.0)
    assert floor.upperbound[0] == pytest.approx(3.090232306167813)  # 0 + qnorm(0.999) * 1


def test_errors_as_r() -> None:
    x = np.arange(20.0)
    with pytest.raises(ValueError, match="Minimum baseline"):
        ears_c(x, baseline=2)
    with pytest.raises(ValueError, match="min_sigma"):
        ears_c(x, min_sigma=-1)
    with pytest.raises(ValueError, match="too short"):
        ears_c(x, method="C3", first=10)
