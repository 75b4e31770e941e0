"""Batch scoring of a CSV for analysts (`songkhoe ncd score`).

Input: a header row and one person a row, read by `songkhoe.csv_input` (UTF-8, `,` or `;`, the
decimal comma in a `;` file). The columns it reads (any subset, header names exact):
sex (male/female), age, smoker, diabetes, sbp, dbp, total_cholesterol_mmol, bmi, waist_cm,
physically_active, daily_vegetables, bp_medication, history_high_glucose, family_diabetes
(none/second/first), pack_years, years_since_quit; yes/no columns are 0/1, an empty cell is missing.
Other columns pass through untouched. Output: the input columns, then OUTPUT_COLUMNS.

Each column is parsed once into an array and every row is scored by the vectorised functions of
`songkhoe.ncd.scores`. A nonsensical value (age 300, SBP 20, sex "x") is an `InputError` naming the
row, as a spreadsheet numbers it (the header is row 1), and the column; nothing is written then.
The output is written to OUTPUT.partial and renamed when complete.
"""

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songkhoe.csv_input import read_csv
from songkhoe.files import atomic_text_file
from songkhoe.ncd.inputs import PLAUSIBLE, implausible
from songkhoe.ncd.scores import NUMBER_INPUTS, score_arrays

TEXT_VALUES = {"sex": ("male", "female"), "family_diabetes": ("none", "second", "first")}
CSV_INPUTS = (
    "sex", "age", "smoker", "diabetes", "sbp", "dbp", "total_cholesterol_mmol", "bmi", "waist_cm",
    "physically_active", "daily_vegetables", "bp_medication", "history_high_glucose",
    "family_diabetes", "pack_years", "years_since_quit",
)  # fmt: skip
NUMBER_COLUMNS = tuple(name for name in CSV_INPUTS if name in NUMBER_INPUTS)
OUTPUT_COLUMNS = (
    "who_cvd_lab_pct", "who_cvd_note", "who_cvd_band", "findrisc_points", "findrisc_band",
    "bp_grade", "lung_ct_eligible",
)  # fmt: skip


class InputError(ValueError):
    """A value the user must fix; the message is one line naming the row and the column."""


@dataclass(frozen=True)
class BatchReport:
    rows: int
    cvd_scored: int
    seconds: float


def _row(index: int) -> int:
    """Spreadsheet row of data row `index` (0-based): the header is row 1."""
    return index + 2


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _parse_number(name: str, cells: list[str]) -> np.ndarray:
    text = np.array(cells)
    empty = text == ""
    try:
        values = np.where(empty, "nan", text).astype(np.float64)
    except ValueError:
        bad = next(i for i, cell in enumerate(cells) if cell and not _is_float(cell))
        raise InputError(
            f"row {_row(bad)}, column {name}: {cells[bad]!r} is not a number"
        ) from None
    broken = ~empty & ~np.isfinite(values)
    if broken.any():
        bad = _first(broken)
        raise InputError(f"row {_row(bad)}, column {name}: {cells[bad]!r} is not a number")
    if name in PLAUSIBLE:
        outside = implausible(name, values)
        if outside.any():
            bad, (low, high) = _first(outside), PLAUSIBLE[name]
            raise InputError(
                f"row {_row(bad)}, column {name}: {cells[bad]} is outside the plausible "
                f"range {low:g}-{high:g}"
            )
    return values


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_choice(name: str, cells: list[str], allowed: tuple[str, ...]) -> np.ndarray:
    values = np.array([cell.lower() for cell in cells])
    wrong = ~np.isin(values, (*allowed, ""))
    if wrong.any():
        bad = _first(wrong)
        raise InputError(
            f"row {_row(bad)}, column {name}: {cells[bad]!r} is not one of {', '.join(allowed)}"
        )
    return values


def _check_pairs(columns: dict[str, np.ndarray]) -> None:
    pairs = (("dbp", "sbp", "above"), ("years_since_quit", "age", "more than"))
    for name, other, relation in pairs:
        if name in columns and other in columns:
            wrong = columns[name] > columns[other]
            if wrong.any():
                bad = _first(wrong)
                raise InputError(
                    f"row {_row(bad)}, column {name}: {columns[name][bad]:g} is {relation} "
                    f"{other} {columns[other][bad]:g}"
                )


def read_columns(header: list[str], rows: list[list[str]]) -> dict[str, np.ndarray]:
    """The scored columns present in `header`, parsed and checked; raises InputError."""
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise InputError(f"row {_row(i)}: {len(row)} fields, the header has {len(header)}")
    columns: dict[str, np.ndarray] = {}
    for name in CSV_INPUTS:
        if name not in header:
            continue
        position = header.index(name)
        cells = [row[position].strip() for row in rows]
        if name in NUMBER_COLUMNS:
            columns[name] = _parse_number(name, cells)
        elif name in TEXT_VALUES:
            columns[name] = _parse_choice(name, cells, TEXT_VALUES[name])
        else:
            flags = _parse_choice(name, cells, ("0", "1"))
            columns[name] = np.where(flags == "", np.nan, (flags == "1").astype(np.float64))
    _check_pairs(columns)
    return columns


def _format(scores: dict[str, np.ndarray]) -> list[list[str]]:
    """Output cells, one list per OUTPUT_COLUMNS entry: the risk in full precision, integer
    points, eligibility 1/0, and "" where a score is missing."""
    risk = ["" if math.isnan(x) else repr(x) for x in scores["who_cvd_lab_pct"].tolist()]
    points = ["" if math.isnan(x) else str(int(x)) for x in scores["findrisc_points"].tolist()]
    eligible = np.where(scores["lung_ct_eligible"], "1", "0")
    cells = {
        "who_cvd_lab_pct": risk,
        "findrisc_points": points,
        "lung_ct_eligible": np.where(scores["lung_ct_known"], eligible, "").tolist(),
    }
    return [cells[name] if name in cells else scores[name].tolist() for name in OUTPUT_COLUMNS]


def score_csv(input_path: Path, output_path: Path) -> BatchReport:
    """Score every row of `input_path` into `output_path`, its number columns written with the
    decimal point; raises InputError or CsvInputError on bad input."""
    started = time.perf_counter()
    table = read_csv(input_path, CSV_INPUTS)
    header, rows = table.header, table.rows(numbers=NUMBER_COLUMNS)
    clashes = [name for name in header if name in OUTPUT_COLUMNS]
    if clashes:
        raise InputError(f"column {clashes[0]} is an output column; remove it from the input")
    if len(set(header)) != len(header):
        raise InputError(f"the header repeats a column name: {', '.join(header)}")
    scores = score_arrays(read_columns(header, rows), len(rows))
    cells = _format(scores)
    with atomic_text_file(output_path) as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, *OUTPUT_COLUMNS])
        writer.writerows(
            row + list(out) for row, out in zip(rows, zip(*cells, strict=True), strict=True)
        )
    cvd_scored = int(np.count_nonzero(~np.isnan(scores["who_cvd_lab_pct"])))
    return BatchReport(rows=len(rows), cvd_scored=cvd_scored, seconds=time.perf_counter() - started)
