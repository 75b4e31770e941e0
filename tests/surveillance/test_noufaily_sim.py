"""The Noufaily (2013) simulation on a committed subset: the port on R's simulated series.

tests/surveillance/data/noufaily_sim_{series,R}.csv: one replicate of scenarios 2, 9, 16, 24, 31,
39 and 42, from `Rscript tools/surveillance_noufaily_sim.R 1 0.01 DIR 2,9,16,24,31,39,42` (R 4.2.2,
surveillance 1.20.3); tools/surveillance_noufaily_sim.py runs all 42 scenarios the same way.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


def _tool():
    spec = importlib.util.spec_from_file_location(
        "surveillance_noufaily_sim", ROOT / "tools" / "surveillance_noufaily_sim.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs():
    tool = _tool()
    sim = tool.read_simulation(DATA)
    return tool, sim, tool.run_port(sim.counts, 0.01)


@pytest.mark.parametrize("method", ["far", "nou", "c1", "c3"])
def test_port_matches_r_on_the_same_series(runs, method: str) -> None:
    tool, sim, port = runs
    assert sim.counts.shape == (7, 624) and sim.state.shape == (7, 49)
    ub, alarm = port[method]
    np.testing.assert_allclose(ub, sim.r_upper[method], rtol=1e-9, atol=0, equal_nan=True)
    np.testing.assert_array_equal(alarm, sim.r_alarm[method])
    assert tool.rates(alarm, sim.state) == tool.rates(sim.r_alarm[method], sim.state)


def test_rates_and_relative_difference(runs) -> None:
    tool, _, _ = runs
    state = np.array([[True, True, False, False], [False, False, False, False]])
    alarm = np.array([[0, 1, 1, -1], [1, 0, -1, 0]], dtype=np.int8)
    assert tool.rates(alarm, state) == (2, 6, 1, 1)  # NA (-1) is no alarm, as in R's script
    nan = float("nan")
    assert tool.max_relative_difference(np.array([1.0, nan]), np.array([2.0, nan])) == 0.5
    assert tool.max_relative_difference(np.array([1.0, 0]), np.array([1.0, nan])) == np.inf
    assert tool.mcnemar_p(np.array([True, False]), np.array([True, False])) == 1.0
