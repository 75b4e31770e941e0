"""`songkhoe ncd score`: CSV in, CSV out, and refusal of nonsensical rows."""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from songkhoe.ncd.batch import OUTPUT_COLUMNS
from songkhoe.ncd.commands import ncd

CHART = Path(__file__).parent / "data" / "chart_cases_lab_southeast_asia_sample.csv"
HEADER = (
    "id,sex,age,smoker,diabetes,sbp,dbp,total_cholesterol_mmol,bmi,waist_cm,physically_active,"
    "daily_vegetables,bp_medication,history_high_glucose,family_diabetes,pack_years,years_since_quit"
)


def _run(input_path: Path, output_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(ncd, ["score", str(input_path), "--output", str(output_path)])
    return result.exit_code, result.output


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_all_300_chart_cells_through_the_command(tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    code, output = _run(CHART, out)
    assert code == 0, output
    rows = _read(out)
    assert len(rows) == 300
    for row in rows:
        assert round(float(row["who_cvd_lab_pct"])) == int(row["expected_chart_risk_pct"])
        assert row["who_cvd_note"] == ""
    assert not (tmp_path / "scored.csv.partial").exists()


def test_every_output_column_for_a_full_row(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        HEADER + "\n"
        "p1,male,58,1,0,150,95,6.2,27,100,0,1,1,0,first,30,\n"
        "p2,Female,35,0,0,118,76,,22,75,1,1,0,0,none,,\n"
        "p3,female,66,0,1,,,5.0,31,95,1,0,0,1,second,25,20\n"
    )
    out = tmp_path / "out.csv"
    code, output = _run(source, out)
    assert code == 0, output
    assert "scored 3 rows" in output
    with out.open(newline="") as handle:
        assert next(csv.reader(handle)) == [*HEADER.split(","), *OUTPUT_COLUMNS]
    p1, p2, p3 = _read(out)
    assert p1["id"] == "p1" and p1["pack_years"] == "30"
    assert 13.7 < float(p1["who_cvd_lab_pct"]) < 13.71  # full precision, not rounded
    assert len(p1["who_cvd_lab_pct"]) > 6
    assert (p1["who_cvd_band"], p1["findrisc_points"], p1["findrisc_band"]) == (
        "10-<20",
        "16",
        "high",
    )
    assert (p1["bp_grade"], p1["lung_ct_eligible"]) == ("grade1", "1")
    assert (p2["who_cvd_lab_pct"], p2["who_cvd_note"], p2["who_cvd_band"]) == (
        "", "age 35 outside 40-80", ""
    )  # fmt: skip
    assert (p2["findrisc_points"], p2["bp_grade"], p2["lung_ct_eligible"]) == ("0", "optimal", "0")
    assert (p3["who_cvd_note"], p3["bp_grade"]) == ("missing sbp", "")
    assert (p3["findrisc_points"], p3["findrisc_band"]) == (
        "20",
        "high",
    )  # 4 + 3 + 4 + 0 + 1 + 0 + 5 + 3
    assert p3["lung_ct_eligible"] == "0"  # quit 20 years ago


def test_any_subset_of_columns(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("sbp,dbp\n142,88\n")
    out = tmp_path / "out.csv"
    assert _run(source, out)[0] == 0
    (row,) = _read(out)
    assert row["bp_grade"] == "grade1"
    assert row["who_cvd_note"] == "missing sex"
    assert row["findrisc_points"] == row["lung_ct_eligible"] == ""


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("age=300", "row 3, column age: 300 is outside the plausible range 0-120"),
        ("sbp=20", "row 3, column sbp: 20 is outside the plausible range 60-300"),
        ("sex=x", "row 3, column sex: 'x' is not one of male, female"),
        ("smoker=yes", "row 3, column smoker: 'yes' is not one of 0, 1"),
        ("bmi=abc", "row 3, column bmi: 'abc' is not a number"),
        ("bmi=nan", "row 3, column bmi: 'nan' is not a number"),
        ("family_diabetes=cousin", "row 3, column family_diabetes: 'cousin' is not one of none"),
        ("dbp=130", "row 3, column dbp: 130 is above sbp 120"),
        ("years_since_quit=50", "row 3, column years_since_quit: 50 is more than age 45"),
    ],
)
def test_a_nonsensical_value_fails_with_its_row_and_column(
    tmp_path: Path, cells: str, message: str
) -> None:
    name, value = cells.split("=")
    good = dict(
        zip(
            HEADER.split(","), "p,male,45,0,0,120,80,5,22,80,1,1,0,0,none,,".split(","), strict=True
        )
    )
    bad = {**good, name: value}
    source = tmp_path / "in.csv"
    source.write_text("\n".join([HEADER, ",".join(good.values()), ",".join(bad.values())]) + "\n")
    out = tmp_path / "out.csv"
    code, output = _run(source, out)
    assert code == 2
    assert message in output
    assert len(output.strip().splitlines()) == 1
    assert not out.exists()
    assert not (tmp_path / "out.csv.partial").exists()


def test_ragged_rows_and_output_column_names_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("age,sbp\n50,120\n60\n")
    code, output = _run(source, tmp_path / "out.csv")
    assert (code, "row 3: 1 fields, the header has 2" in output) == (2, True)
    source.write_text("age,bp_grade\n50,x\n")
    code, output = _run(source, tmp_path / "out.csv")
    assert (code, "column bp_grade is an output column" in output) == (2, True)
