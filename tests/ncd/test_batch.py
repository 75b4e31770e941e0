"""`songkhoe ncd score`: CSV in, CSV out, and refusal of nonsensical rows."""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from songkhoe.cli import main
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


COMMA_ROWS = (
    '"Lê, Văn A",male,58,1,0,150,95,6.2,27.5,100,0,1,1,0,first,30.5,\n'
    "p2,female,66,0,1,142,88,5.0,31,95,1,0,0,1,second,25,20\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_semicolons_and_decimal_commas_score_as_the_comma_file(
    tmp_path: Path, encoding: str
) -> None:
    """Excel in a Vietnamese locale writes `;` and the decimal comma (with a BOM for CSV UTF-8);
    the output is the comma file's, byte for byte."""
    comma, semicolon = tmp_path / "comma.csv", tmp_path / "semicolon.csv"
    comma.write_text(HEADER + "\n" + COMMA_ROWS, encoding=encoding)
    semicolon.write_text(
        HEADER.replace(",", ";") + "\n"
        "Lê, Văn A;male;58;1;0;150;95;6,2;27,5;100;0;1;1;0;first;30,5;\n"
        "p2;female;66;0;1;142;88;5,0;31;95;1;0;0;1;second;25;20\n",
        encoding=encoding,
    )
    assert _run(comma, tmp_path / "comma.out.csv")[0] == 0
    code, output = _run(semicolon, tmp_path / "semicolon.out.csv")
    assert code == 0, output
    assert "scored 2 rows" in output
    scored = (tmp_path / "semicolon.out.csv").read_bytes()
    assert scored == (tmp_path / "comma.out.csv").read_bytes()
    assert _read(tmp_path / "semicolon.out.csv")[0]["total_cholesterol_mmol"] == "6.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER.replace(",", ";") + "\np;male;45;0;0;120;80;5.5;22;80;1;1;0;0;none;;\n",
         "row 2, column total_cholesterol_mmol: '5.5' has a point"),
        ('age,bmi\n50,"27,5"\n', "row 2, column bmi: '27,5' is not a number"),
    ],
)  # fmt: skip
def test_a_decimal_separator_against_the_files_separator_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    """In a `;` file a point is the thousands separator ("1.234"); in a `,` file a quoted "5,6"
    may be 56 in English: neither is guessed."""
    source = tmp_path / "in.csv"
    source.write_text(text)
    code, output = _run(source, tmp_path / "out.csv")
    assert (code, len(output.strip().splitlines())) == (2, 1)
    assert message in output
    assert not (tmp_path / "out.csv").exists()


def test_a_file_without_header_loses_no_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("p1,male,58,1,0,150,95,6.2,27,100,0,1,1,0,first,30,\n")
    with pytest.raises(SystemExit) as done:
        main(["ncd", "score", str(source), "--output", str(tmp_path / "out.csv")])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        f"songkhoe: error: {source}: the first line must name the columns "
        "(expected e.g. sex, age, smoker, diabetes, ...)\n"
    )
    assert not (tmp_path / "out.csv").exists()


def test_utf16_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text("age,sbp\n50,120\n", encoding="utf-16")
    with pytest.raises(SystemExit) as done:
        main(["ncd", "score", str(source), "--output", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert done.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"songkhoe: error: {source}: the file is UTF-16, not UTF-8")
