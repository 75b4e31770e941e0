"""`songkhoe surveillance`: aberration detection on weekly count series (CSV in, CSV out)."""

import csv
import math
from datetime import date
from pathlib import Path
from typing import Any

import click
import numpy as np

from songkhoe.console import CommandError
from songkhoe.csv_input import CsvInputError
from songkhoe.files import atomic_text_file
from songkhoe.surveillance.detect import METHODS, DetectError, detect, week_index
from songkhoe.surveillance.models import DetectorResult
from songkhoe.surveillance.series import SeriesError, WeeklySeries, read_series

OUTPUT_ALARM = {1: "true", 0: "false", -1: ""}


@click.group()
def surveillance() -> None:
    """Notifiable-disease surveillance: aberration detection."""


def _control(
    method: str, alpha: float | None, b: int | None, w: int | None, population_offset: bool
) -> dict[str, Any]:
    """The control parameters given on the command line; those the method lacks are errors."""
    options = (
        ("alpha", alpha),
        ("b", b),
        ("w", w),
        ("population_offset", population_offset or None),
    )
    given = {name: value for name, value in options if value is not None}
    for name in given:
        if name not in METHODS[method].options:
            raise DetectError(f"--{name.replace('_', '-')} does not apply to --method {method}")
    if alpha is not None and not 0 < alpha < 1:
        raise DetectError(f"--alpha must be between 0 and 1, got {alpha}")
    if b is not None and b < 1:
        raise DetectError(f"--b must be 1 or more, got {b}")
    if w is not None and w < 0:
        raise DetectError(f"--w must be 0 or more, got {w}")
    return given


def _number(value: float) -> str:
    """A population as read: whole numbers without a decimal point."""
    return str(int(value)) if value.is_integer() else repr(float(value))


def _write(path: Path, series: WeeklySeries, result: DetectorResult) -> None:
    """Write one row per unit and evaluated week to PATH.partial, then rename it to PATH."""
    upper = np.atleast_2d(result.upperbound)
    alarm = np.atleast_2d(result.alarm)
    dates = series.dates[result.first :].astype(str)
    with atomic_text_file(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        unit_column = ["unit"] if series.units is not None else []
        pop_column = ["population"] if series.population is not None else []
        writer.writerow([*unit_column, "date", "count", *pop_column, "upperbound", "alarm"])
        for i, counts in enumerate(series.counts[:, result.first :]):
            unit = [series.units[i]] if series.units is not None else []
            for j, day in enumerate(dates):
                bound = float(upper[i, j])
                pop = (
                    [_number(series.population[i, result.first + j])]
                    if series.population is not None
                    else []
                )
                writer.writerow(
                    [
                        *unit,
                        day,
                        int(counts[j]),
                        *pop,
                        "" if math.isnan(bound) else repr(bound),
                        OUTPUT_ALARM[int(alarm[i, j])],
                    ]
                )


@surveillance.command("detect")
@click.argument("input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--method", required=True, type=click.Choice(list(METHODS)), help="Detector.")
@click.option("--alpha", type=float, default=None, help="Default: R's default for the method.")
@click.option("--b", "b", type=int, default=None, help="Farrington: years back (R's b).")
@click.option("--w", "w", type=int, default=None, help="Farrington: half-window in weeks (R's w).")
@click.option(
    "--population-offset",
    is_flag=True,
    help="farrington-flexible, noufaily: log(population) as offset (R's populationOffset).",
)
@click.option(
    "--from",
    "from_date",
    default=None,
    help="First evaluated week (ISO date; default: the first week with enough history).",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def detect_command(
    input_path: Path,
    method: str,
    alpha: float | None,
    b: int | None,
    w: int | None,
    population_offset: bool,
    from_date: str | None,
    output: Path,
) -> None:
    """Run an aberration detector (R `surveillance` 1.20.3 parameters and defaults) on the weekly
    counts of INPUT_PATH (UTF-8, separated by `,` or `;`, then with the decimal comma; columns
    date, count, optionally unit, population) and write unit, date, count, population (when
    given), upperbound, alarm for every evaluated week to OUTPUT."""
    try:
        control = _control(method, alpha, b, w, population_offset)
        series = read_series(input_path)
        first = None
        if from_date is not None:
            try:
                day = date.fromisoformat(from_date)
            except ValueError:
                raise DetectError(f"--from {from_date!r} is not an ISO date (YYYY-MM-DD)") from None
            first = week_index(series, day)
        result = detect(series, method, first=first, **control)
    except SeriesError as exc:
        raise CommandError(f"{input_path}: {exc}") from None
    except (DetectError, CsvInputError) as exc:
        raise CommandError(str(exc)) from None
    _write(output, series, result)
    n_alarms = int((np.asarray(result.alarm) == 1).sum())
    click.echo(
        f"{method}: {np.asarray(result.alarm).size:,} evaluated weeks, {n_alarms:,} alarms "
        f"-> {output}"
    )
