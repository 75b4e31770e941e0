"""Reading and validating weekly count series (the `songkhoe surveillance detect` input).

The input is a CSV with a header, read by `songkhoe.csv_input` (UTF-8, `,` or `;`, the decimal
comma in a `;` file): `date` (the first day of the week, ISO 8601) and `count`, optionally `unit`
(a series id, e.g. a commune code) and `population`. Rows of one unit must be consecutive weeks
in date order; every unit must cover the same weeks, so the units form one (n_units, n_weeks)
array. Anything else is an error naming the row (1-based spreadsheet row, the
header being row 1): nothing is dropped or filled in silently.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import repeat
from pathlib import Path

import numpy as np

from songkhoe.csv_input import read_csv

REQUIRED_COLUMNS = ("date", "count")
OPTIONAL_COLUMNS = ("unit", "population")
WEEK = timedelta(days=7)


class SeriesError(ValueError):
    """Invalid input series; the message names the row and column."""


@dataclass(frozen=True, slots=True)
class WeeklySeries:
    """Weekly counts of one or many units aligned on the same weeks.

    `counts` (and `population` when given) have shape (n_units, n_weeks); `units` is None when the
    input has no `unit` column (then n_units is 1). `dates` are the first days of the weeks.
    """

    dates: np.ndarray  # datetime64[D], (n_weeks,)
    counts: np.ndarray  # float64, (n_units, n_weeks)
    units: tuple[str, ...] | None
    population: np.ndarray | None  # float64, (n_units, n_weeks)


@dataclass(slots=True)
class _Unit:
    first_row: int
    dates: list[date]
    rows: list[int]
    counts: list[float]
    population: list[float]


def _parse_date(text: str, row: int) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SeriesError(
            f"row {row}, column date: {text!r} is not an ISO date (YYYY-MM-DD)"
        ) from None


def _parse_count(text: str, row: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SeriesError(f"row {row}, column count: {text!r} is not a number") from None
    if not math.isfinite(value) or value != math.floor(value):
        raise SeriesError(f"row {row}, column count: {text!r} is not a whole number")
    if value < 0:
        raise SeriesError(f"row {row}, column count: {text!r} is negative")
    return value


def _parse_population(text: str, row: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SeriesError(f"row {row}, column population: {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise SeriesError(f"row {row}, column population: {text!r} must be a positive number")
    return value


def _check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise SeriesError("row 1: the file is empty (expected a header with date,count)")
    names = [name.strip() for name in header]
    for name in names:
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            raise SeriesError(
                f"row 1: unknown column {name!r} (expected date, count, and optionally unit, "
                "population)"
            )
        if names.count(name) > 1:
            raise SeriesError(f"row 1: column {name!r} appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in names:
            raise SeriesError(f"row 1: column {name!r} is missing")
    return names


def _add_week(unit: _Unit, name: str | None, day: date, row: int) -> None:
    """Check that `day` is the week after the unit's last one."""
    label = "" if name is None else f" of unit {name!r}"
    if unit.dates:
        previous = unit.dates[-1]
        step = (day - previous).days
        if step <= 0 and day in unit.dates:  # dates so far increase: only then can it repeat
            earlier = unit.rows[unit.dates.index(day)]
            raise SeriesError(
                f"row {row}, column date: week {day}{label} is duplicated (also row {earlier})"
            )
        if step < 0:
            raise SeriesError(
                f"row {row}, column date: {day}{label} comes before the previous week "
                f"{previous} (row {unit.rows[-1]}); rows must be in date order"
            )
        if step % 7:
            raise SeriesError(
                f"row {row}, column date: {day}{label} is {step} days after the previous week "
                f"{previous} (row {unit.rows[-1]}); weeks must be 7 days apart"
            )
        if step > 7:
            raise SeriesError(
                f"row {row}, column date: gap in the weeks{label}: {step // 7 - 1} week(s) "
                f"missing between {previous} (row {unit.rows[-1]}) and {day}"
            )
    unit.dates.append(day)
    unit.rows.append(row)


def parse_rows(rows: list[list[str]]) -> WeeklySeries:
    """Parse CSV rows (the header first) into aligned weekly series; see the module doc."""
    if not rows:
        raise SeriesError("row 1: the file is empty (expected a header with date,count)")
    names = _check_header(rows[0])
    col = {name: names.index(name) for name in names}
    has_unit, has_pop = "unit" in col, "population" in col
    units: dict[str | None, _Unit] = {}
    for row, values in enumerate(rows[1:], start=2):
        if not values:
            raise SeriesError(f"row {row}: empty line")
        if len(values) != len(names):
            raise SeriesError(f"row {row}: {len(values)} fields, expected {len(names)}")
        name = values[col["unit"]].strip() if has_unit else None
        if name == "":
            raise SeriesError(f"row {row}, column unit: empty unit")
        for column in ("date", "count") + (("population",) if has_pop else ()):
            if not values[col[column]].strip():
                raise SeriesError(f"row {row}, column {column}: empty value")
        day = _parse_date(values[col["date"]], row)
        count = _parse_count(values[col["count"]], row)
        unit = units.setdefault(name, _Unit(row, [], [], [], []))
        _add_week(unit, name, day, row)
        unit.counts.append(count)
        if has_pop:
            unit.population.append(_parse_population(values[col["population"]], row))
    if not units:
        raise SeriesError("row 2: no data rows after the header")
    first_name, first = next(iter(units.items()))
    for name, unit in units.items():
        if unit.dates[0] != first.dates[0] or unit.dates[-1] != first.dates[-1]:
            raise SeriesError(
                f"row {unit.first_row}, column unit: unit {name!r} covers {unit.dates[0]} to "
                f"{unit.dates[-1]} (rows {unit.rows[0]}-{unit.rows[-1]}) but unit {first_name!r} "
                f"covers {first.dates[0]} to {first.dates[-1]}; every unit must cover the same "
                "weeks"
            )
    return WeeklySeries(
        dates=np.array(first.dates, dtype="datetime64[D]"),
        counts=np.array([u.counts for u in units.values()], dtype=np.float64),
        units=tuple(str(name) for name in units) if has_unit else None,
        population=(
            np.array([u.population for u in units.values()], dtype=np.float64) if has_pop else None
        ),
    )


def _plain_date(text: str) -> str | None:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _parse_valid(text: str) -> WeeklySeries | None:
    """The series of a CSV text that ``parse_rows`` would accept, parsed column-wise with NumPy;
    None when the text has quoting or anything ``parse_rows`` might reject or read differently
    (then ``parse_rows`` reads it row by row and names the row of the problem)."""
    lines = text.splitlines()
    if '"' in text or len(lines) < 2:
        return None
    names = _check_header(lines[0].split(","))
    body = lines[1:]
    if set(map(str.count, body, repeat(","))) != {len(names) - 1}:
        return None
    fields = np.array(",".join(body).split(","), dtype=object).reshape(len(body), len(names))
    column = {name: fields[:, i] for i, name in enumerate(names)}
    try:
        dates = column["date"].astype("datetime64[D]")
        counts = column["count"].astype(np.float64)
        pop = column["population"].astype(np.float64) if "population" in column else None
    except ValueError:
        return None
    if not (np.isfinite(counts) & (counts >= 0) & (counts == np.floor(counts))).all():
        return None
    if pop is not None and not (np.isfinite(pop) & (pop > 0)).all():
        return None
    units = None
    unit_id = np.zeros(len(body), dtype=np.intp)
    if "unit" in column:
        index = {name: i for i, name in enumerate(dict.fromkeys(column["unit"]))}
        if any(not name or name != name.strip() for name in index):
            return None
        unit_id = np.fromiter(map(index.get, column["unit"]), np.intp, len(body))
        units = tuple(index)  # in order of first appearance, as parse_rows
    sizes = np.bincount(unit_id)
    n_weeks = int(sizes[0])
    if (sizes != n_weeks).any():
        return None
    rows = np.argsort(unit_id, kind="stable").reshape(sizes.size, n_weeks)
    weeks = dates[rows]
    if (np.diff(weeks, axis=1) != np.timedelta64(7, "D")).any() or (weeks != weeks[0]).any():
        return None
    texts = column["date"][rows]  # plain YYYY-MM-DD only: NumPy also reads "2024-01" as a day
    if (texts != texts[0]).any() or any(_plain_date(t) != t for t in texts[0]):
        return None
    return WeeklySeries(
        dates=weeks[0],
        counts=counts[rows],
        units=units,
        population=None if pop is None else pop[rows],
    )


def read_series(path: Path) -> WeeklySeries:
    """Read and validate a weekly series CSV; raises SeriesError naming the row, or CsvInputError
    (the file's encoding, header, decimal separator).

    Valid `,` files are parsed column-wise (about 1 s per million rows); anything else goes
    through ``parse_rows``, which finds and names the first bad row."""
    table = read_csv(path, (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    series = _parse_valid(table.text) if table.separator == "," else None
    if series is not None:
        return series
    return parse_rows([table.header, *table.rows(numbers=("count", "population"))])
