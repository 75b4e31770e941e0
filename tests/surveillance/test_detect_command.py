"""`songkhoe surveillance detect`: CSV in, CSV out, matching R (tests/surveillance/data)."""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from songkhoe.cli import main
from songkhoe.surveillance.commands import surveillance

DATA = Path(__file__).parent / "data"
TOTAL = DATA / "input_salmNewport_total.csv"
STATES = DATA / "input_salmNewport_3states.csv"
FIRST_GOLDEN_WEEK = "2012-02-20"  # the last 104 weeks, as in the R reference outputs


def _detect(*args: str | Path) -> Result:
    return CliRunner().invoke(surveillance, ["detect", *map(str, args)])


def _read(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _r_rows(name: str, case: str) -> list[dict[str, str]]:
    return [row for row in _read(DATA / name) if row["case"] == case]


@pytest.mark.parametrize(
    ("method", "case"),
    [("ears-c1", "C1"), ("ears-c2", "C2"), ("ears-c3", "C3"), ("cusum", "cusum")],
)
def test_many_units_match_r(tmp_path: Path, method: str, case: str) -> None:
    out = tmp_path / "out.csv"
    result = _detect(STATES, "--method", method, "--from", FIRST_GOLDEN_WEEK, "--output", out)
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert list(rows[0]) == ["unit", "date", "count", "upperbound", "alarm"]
    expected = _r_rows("r_salmNewport_3states.csv", case)
    assert len(rows) == len(expected) == 3 * 104
    for row, ref in zip(rows, expected, strict=True):
        assert (row["unit"], row["date"], row["count"]) == (
            ref["unit"],
            ref["date"],
            ref["observed"],
        )
        assert row["alarm"] == {"TRUE": "true", "FALSE": "false", "NA": ""}[ref["alarm"]]
        if ref["upperbound"] == "NA":
            assert row["upperbound"] == ""
        else:
            assert float(row["upperbound"]) == pytest.approx(float(ref["upperbound"]), rel=1e-6)
    assert not (tmp_path / "out.csv.partial").exists()


def test_default_from_is_first_week_with_history(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert _detect(TOTAL, "--method", "ears-c3", "--output", out).exit_code == 0
    rows = _read(out)
    assert list(rows[0]) == ["date", "count", "upperbound", "alarm"]
    assert rows[0]["date"] == "2004-03-22" and len(rows) == 528 - 11  # R: baseline + 5, 1-based
    out_alpha = tmp_path / "alpha.csv"
    assert (
        _detect(TOTAL, "--method", "ears-c3", "--alpha", "0.2", "--output", out_alpha).exit_code
        == 0
    )
    assert _read(out_alpha) != rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "cusum"], "cusum needs --from"),
        (["--method", "ears-c1", "--b", "3"], "--b does not apply to --method ears-c1"),
        (["--method", "ears-c1", "--alpha", "1.5"], "--alpha must be between 0 and 1"),
        (["--method", "ears-c1", "--from", "2012-02-21"], "--from 2012-02-21 is not one of the"),
        (["--method", "ears-c1", "--from", "2004-01-12"], "ears-c1: The vector of observed is too"),
        (["--method", "ears-c1", "--from", "soon"], "--from 'soon' is not an ISO date"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out.csv"
    result = _detect(TOTAL, *args, "--output", out)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_bad_input_names_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,count\n2024-01-01,1\n2024-01-08,2\n2024-01-22,1\n")
    out = tmp_path / "out.csv"
    result = _detect(bad, "--method", "ears-c1", "--output", out)
    assert result.exit_code == 2
    assert "row 4, column date: gap in the weeks" in result.output
    assert not out.exists() and not (tmp_path / "out.csv.partial").exists()


def test_farrington_routes(tmp_path: Path) -> None:
    pytest.importorskip("songkhoe.surveillance.farrington")
    for method in ("farrington-flexible", "noufaily"):
        out = tmp_path / f"{method}.csv"
        result = _detect(TOTAL, "--method", method, "--from", "2013-09-02", "--output", out)
        assert result.exit_code == 0, result.output
        assert len(_read(out)) == 528 - 504


def test_population_offset_and_population_column(tmp_path: Path) -> None:
    """--population-offset (R's populationOffset) matches R; the population is echoed."""
    source = DATA / "farrington_input_population.csv"
    inp = tmp_path / "in.csv"
    inp.write_text("".join(line for line in source.open() if not line.startswith("#")))
    out = tmp_path / "out.csv"
    ref = [r for r in _read_commented(DATA / "farrington_R_population.csv")]
    first = ref[0]["date"]
    args = ("--method", "farrington-flexible", "--from", first, "--output", out)
    result = _detect(inp, "--population-offset", *args)
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert list(rows[0]) == ["unit", "date", "count", "population", "upperbound", "alarm"]
    assert len(rows) == len(ref)
    populations = {(r["unit"], r["date"]): r["population"] for r in _read(inp)}
    for row, r in zip(rows, ref, strict=True):
        assert row["population"] == populations[row["unit"], row["date"]]
        assert row["alarm"] == {"TRUE": "true", "FALSE": "false"}[r["ff_population_alarm"]]
        if r["ff_population_ub"] == "NA":
            assert row["upperbound"] == ""
        else:
            assert float(row["upperbound"]) == pytest.approx(float(r["ff_population_ub"]), rel=1e-9)


def test_population_offset_errors(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = _detect(TOTAL, "--method", "ears-c1", "--population-offset", "--output", out)
    assert result.exit_code == 2 and "--population-offset does not apply" in result.output
    result = _detect(TOTAL, "--method", "noufaily", "--population-offset", "--output", out)
    assert result.exit_code == 2 and "needs a population column" in result.output
    assert not out.exists()


def _read_commented(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_semicolons_and_decimal_commas_detect_as_the_comma_file(
    tmp_path: Path, encoding: str
) -> None:
    """Excel in a Vietnamese locale writes `;` and the decimal comma: a population of 8000,5 is
    8000.5, and the output is the comma file's, byte for byte."""
    pytest.importorskip("songkhoe.surveillance.farrington")
    lines = [
        line.rstrip("\n").split(",")
        for line in (DATA / "farrington_input_population.csv").open()
        if not line.startswith("#")
    ]
    rows = [lines[0], *([unit, day, count, f"{pop}.5"] for unit, day, count, pop in lines[1:])]
    comma, semicolon = tmp_path / "comma.csv", tmp_path / "semicolon.csv"
    comma.write_text("".join(",".join(row) + "\n" for row in rows), encoding=encoding)
    semicolon.write_text(
        "".join(";".join(row).replace(".", ",") + "\n" for row in rows), encoding=encoding
    )
    outputs = []
    for source in (comma, semicolon):
        out = tmp_path / f"{source.stem}.out.csv"
        args = ("--method", "farrington-flexible", "--population-offset", "--output", out)
        result = _detect(source, *args)
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert _read(tmp_path / "semicolon.out.csv")[0]["population"].endswith(".5")


def test_a_file_without_header_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("2024-01-01,1\n2024-01-08,2\n2024-01-15,1\n")
    with pytest.raises(SystemExit) as done:
        main(["surveillance", "detect", str(source), "--method", "ears-c1", "--output", "o.csv"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        f"songkhoe: error: {source}: the first line must name the columns "
        "(expected e.g. date, count, unit, population)\n"
    )


def test_utf16_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text("date,count\n2024-01-01,1\n2024-01-08,2\n", encoding="utf-16")
    out = tmp_path / "out.csv"
    with pytest.raises(SystemExit) as done:
        main(["surveillance", "detect", str(source), "--method", "ears-c1", "--output", str(out)])
    err = capsys.readouterr().err
    assert done.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"songkhoe: error: {source}: the file is UTF-16, not UTF-8")
    assert not out.exists()
