"""WHO 2019 CVD risk, laboratory model, Southeast Asia: against the published chart."""

import csv
from pathlib import Path

import numpy as np
import pytest

from songkhoe.ncd.scores import score_person, who_cvd_band, who_cvd_lab, who_cvd_note

CHART = Path(__file__).parent / "data" / "chart_cases_lab_southeast_asia_sample.csv"


def _chart() -> dict[str, np.ndarray]:
    with CHART.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    return {name: v if name == "sex" else v.astype(float) for name, v in columns.items()}


def test_all_300_chart_cells_round_to_the_printed_value() -> None:
    """WHO HEARTS Southeast Asia laboratory chart: each cell's printed integer % (cell centres)."""
    chart = _chart()
    risk = who_cvd_lab(
        chart["sex"],
        chart["age"],
        chart["smoker"],
        chart["diabetes"],
        chart["sbp"],
        chart["total_cholesterol_mmol"],
    )
    printed = chart["expected_chart_risk_pct"]
    assert len(printed) == 300
    matches = np.floor(risk + 0.5) == printed
    assert matches.sum() == 300, np.flatnonzero(~matches)
    assert np.abs(risk - printed).max() < 0.5


def test_the_per_person_wrapper_gives_the_same_numbers() -> None:
    chart = _chart()
    for i in range(0, 300, 37):
        person = score_person(
            sex=str(chart["sex"][i]),
            age=chart["age"][i],
            smoker=bool(chart["smoker"][i]),
            diabetes=bool(chart["diabetes"][i]),
            sbp=chart["sbp"][i],
            total_cholesterol_mmol=chart["total_cholesterol_mmol"][i],
        )
        assert person.who_cvd_lab_pct is not None
        assert round(person.who_cvd_lab_pct) == chart["expected_chart_risk_pct"][i]


def test_one_worked_cell() -> None:
    """Southeast Asia chart, man 60-64 (centre 62.5), smoker, no diabetes, SBP 140-159 (150),
    cholesterol >=7 (7.5): printed 20%, band 20-<30."""
    risk = who_cvd_lab(["male"], [62.5], [1], [0], [150], [7.5])
    assert round(float(risk[0])) == 20
    assert who_cvd_band(risk).tolist() == ["20-<30"]


def test_booleans_for_sex_and_flags_give_the_same_risk() -> None:
    as_text = who_cvd_lab(["male", "female"], [55, 55], [1, 0], [0, 1], [140, 140], [5, 5])
    as_bool = who_cvd_lab([True, False], [55, 55], [True, False], [False, True], [140, 140], [5, 5])
    np.testing.assert_array_equal(as_text, as_bool)


def test_risk_rises_with_each_risk_factor() -> None:
    base = dict(sex=["female"], age=[55], smoker=[0], diabetes=[0], sbp=[130], chol=[5.0])

    def risk(**change: list) -> float:
        args = {**base, **change}
        return float(
            who_cvd_lab(
                args["sex"],
                args["age"],
                args["smoker"],
                args["diabetes"],
                args["sbp"],
                args["chol"],
            )[0]
        )

    reference = risk()
    for change in (
        {"age": [65]},
        {"smoker": [1]},
        {"diabetes": [1]},
        {"sbp": [160]},
        {"chol": [7]},
    ):
        assert risk(**change) > reference


@pytest.mark.parametrize(
    ("inputs", "note"),
    [
        (("male", 35, 0, 0, 120, 5), "age 35 outside 40-80"),
        (("male", 81, 0, 0, 120, 5), "age 81 outside 40-80"),
        (("", 50, 0, 0, 120, 5), "missing sex"),
        (("x", 50, 0, 0, 120, 5), "sex not male or female"),
        (("female", None, 0, 0, 120, 5), "missing age"),
        (("female", 50, None, 0, 120, 5), "missing smoker"),
        (("female", 50, 2, 0, 120, 5), "smoker 2 not 0 or 1"),
        (("female", 50, 0, None, 120, 5), "missing diabetes"),
        (("female", 50, 0, 0, None, 5), "missing sbp"),
        (("female", 50, 0, 0, 20, 5), "sbp 20 outside 60-300"),
        (("female", 50, 0, 0, 120, None), "missing total_cholesterol_mmol"),
    ],
)
def test_missing_or_out_of_range_gives_nan_with_the_reason(inputs: tuple, note: str) -> None:
    columns = [np.array([value], dtype=object) for value in inputs]
    assert np.isnan(who_cvd_lab(*columns)[0])
    assert who_cvd_note(*columns).tolist() == [note]


def test_ages_40_and_80_are_inside_the_derivation_range() -> None:
    risk = who_cvd_lab(["male", "male"], [40, 80], [0, 0], [0, 0], [120, 120], [5, 5])
    assert not np.isnan(risk).any()
    assert who_cvd_note(["male"], [80], [0], [0], [120], [5]).tolist() == [""]


def test_band_is_that_of_the_printed_integer() -> None:
    risk = np.array([0.0, 4.49, 4.5, 9.6, 19.4, 19.5, 29.49, 29.5, 80.0, np.nan])
    assert who_cvd_band(risk).tolist() == [
        "<5", "<5", "5-<10", "10-<20", "10-<20", "20-<30", "20-<30", ">=30", ">=30", "",
    ]  # fmt: skip
