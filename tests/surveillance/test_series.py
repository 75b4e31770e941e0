"""Reading and validating weekly series: every problem is named with its row."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from songkhoe.csv_input import CsvInputError
from songkhoe.surveillance.series import SeriesError, parse_rows, read_series

DATA = Path(__file__).parent / "data"


def _rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


def test_reads_one_series() -> None:
    series = read_series(DATA / "input_salmNewport_total.csv")
    assert series.units is None and series.population is None
    assert series.counts.shape == (1, 528) == (1, series.dates.size)
    assert series.dates[0] == np.datetime64("2004-01-05")
    assert (np.diff(series.dates) == np.timedelta64(7, "D")).all()


def test_units_are_aligned_on_dates() -> None:
    series = read_series(DATA / "input_salmNewport_3states.csv")
    assert series.units == ("Berlin", "North.Rhine.Westphalia", "Saarland")
    assert series.counts.shape == (3, 528)


def test_interleaved_units_and_population() -> None:
    series = parse_rows(
        _rows("""
unit,date,count,population
a,2024-01-01,1,100
b,2024-01-01,2,200
a,2024-01-08,3,100
b,2024-01-08,4.0,200
""")
    )
    assert series.counts.tolist() == [[1, 3], [2, 4]]
    assert series.population.tolist() == [[100, 100], [200, 200]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,count\n2024-01-01,1\n2024-01-15,2", r"row 3, column date: gap in the weeks: 1 week"),
        ("date,count\n2024-01-01,1\n2024-01-09,2", r"row 3, column date: .* 8 days after"),
        ("date,count\n2024-01-01,1\n2024-01-08,-2", r"row 3, column count: '-2' is negative"),
        ("date,count\n2024-01-01,1\n2024-01-08,2.5", r"row 3, column count: .* not a whole"),
        ("date,count\n2024-01-01,1\n2024-01-08,x", r"row 3, column count: 'x' is not a number"),
        ("date,count\n2024-01-01,1\n2024-01-08,", r"row 3, column count: empty value"),
        (
            "date,count\n2024-01-01,1\n2024-01-01,2",
            r"row 3, column date: .* duplicated \(also row 2",
        ),
        (
            "date,count\n2024-01-01,1\n2024-01-08,2\n2024-01-01,3",
            r"row 4, column date: .* duplicated \(also row 2",
        ),
        ("date,count\n2024-01-08,1\n2023-12-25,2", r"row 3, column date: .* comes before"),
        ("date,count\n2024-01-01,1\n2024-13-08,2", r"row 3, column date: '2024-13-08' is not"),
        ("date,count\n2024-01-01,1\n2024-01-08", r"row 3: 1 fields, expected 2"),
        ("date\n2024-01-01", r"row 1: column 'count' is missing"),
        ("date,count,cases\n2024-01-01,1,2", r"row 1: unknown column 'cases'"),
        ("date,count", r"row 2: no data rows"),
        ("unit,date,count\na,2024-01-01,1\n,2024-01-08,2", r"row 3, column unit: empty unit"),
        ("date,count,population\n2024-01-01,1,0", r"row 2, column population: .* positive"),
        (
            "unit,date,count\na,2024-01-01,1\na,2024-01-08,1\nb,2024-01-08,1",
            r"row 4, column unit: unit 'b' covers 2024-01-08 to 2024-01-08 .* same weeks",
        ),
        (
            "unit,date,count\na,2024-01-01,1\nb,2024-01-01,1\nb,2024-01-15,1",
            r"row 4, column date: gap in the weeks of unit 'b'",
        ),
    ],
)
def test_bad_input_names_the_row(text: str, message: str) -> None:
    with pytest.raises(SeriesError, match=message):
        parse_rows(_rows(text))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CsvInputError, match="the file is empty; the first line must name"):
        read_series(path)


VALID = [
    "date,count\n2024-01-01,1\n2024-01-08,0\n2024-01-15,7",
    "unit,date,count,population\na,2024-01-01,1,100\nb,2024-01-01,2,200.5\na,2024-01-08,3,100\n"
    "b,2024-01-08,4.0,200.5\n",
    "count,unit,date\n1,z,2024-01-01\n2,z,2024-01-08\n3,a,2024-01-01\n4,a,2024-01-08",
    'unit,date,count\n"a, b",2024-01-01,1\n"a, b",2024-01-08,2',  # quoted: the row-wise reader
    "date,count\n 2024-01-01,1\n2024-01-08, 2",  # padded: the row-wise reader strips
]


@pytest.mark.parametrize("text", VALID)
def test_read_series_equals_row_by_row_parse(tmp_path: Path, text: str) -> None:
    """read_series parses valid files column-wise; the result is parse_rows' exactly."""
    path = tmp_path / "in.csv"
    path.write_text(text)
    fast = read_series(path)
    slow = parse_rows(list(csv.reader(io.StringIO(text))))
    assert fast.units == slow.units
    for name in ("dates", "counts", "population"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert (a is None and b is None) or (a.dtype == b.dtype and np.array_equal(a, b))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,count\n2024-01-01,1\n2024-01\n", r"row 3: 1 fields"),
        ("date,count\n2024-01-01,1\n2024-01,2", r"row 3, column date: .* 7 days apart|not an ISO"),
        ("unit,date,count\na,2024-01-01,1\nb,2024-01-08,1", r"row 3, column unit: unit 'b'"),
        (
            "unit,date,count\na,2024-01-01,1\na,2024-01-08,1\nb,2024-01-01,1\nb,2024-01-15,1",
            r"row 5, column date: gap in the weeks of unit 'b'",
        ),
        ("date,count\n2024-01-01,1\n2024-01-08,nan", r"row 3, column count: 'nan' is not a whole"),
        ("date,count\n2024-01-01,1\n\n2024-01-08,1", r"row 3: empty line"),
    ],
)
def test_read_series_names_the_row(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(text)
    with pytest.raises(SeriesError, match=message):
        read_series(path)


def test_a_semicolon_file_goes_row_by_row(tmp_path: Path) -> None:
    """The column-wise reader splits at commas: a `;` file (with decimal commas) is read by
    parse_rows, as the comma file is."""
    path = tmp_path / "in.csv"
    path.write_text("unit;date;count;population\na;2024-01-01;1;100,5\na;2024-01-08;3;100,5\n")
    series = read_series(path)
    assert series.units == ("a",)
    assert series.counts.tolist() == [[1, 3]] and series.population.tolist() == [[100.5, 100.5]]
