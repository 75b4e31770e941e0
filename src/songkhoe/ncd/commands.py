"""`songkhoe ncd`: NCD risk scoring for analysts (CSV in, CSV out)."""

from pathlib import Path

import click

from songkhoe.console import CommandError
from songkhoe.csv_input import CsvInputError
from songkhoe.ncd.batch import InputError, score_csv


@click.group()
def ncd() -> None:
    """Non-communicable diseases: risk scores."""


@ncd.command("score")
@click.argument("input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV to write: the input columns plus the scores.",
)
def score_command(input_path: Path, output_path: Path) -> None:
    """Score every row of INPUT_PATH: WHO 2019 CVD risk (lab model, Southeast Asia), FINDRISC, BP
    grade (Vietnamese grid) and USPSTF 2021 lung-cancer CT eligibility. Input columns (any subset):
    sex, age, smoker, diabetes, sbp, dbp, total_cholesterol_mmol, bmi, waist_cm, physically_active,
    daily_vegetables, bp_medication, history_high_glucose, family_diabetes, pack_years,
    years_since_quit. UTF-8, separated by `,` or `;` (then with the decimal comma), the header
    first. A nonsensical value stops the run with its row (the header is row 1) and column, and
    writes nothing."""
    try:
        report = score_csv(input_path, output_path)
    except (InputError, CsvInputError) as exc:
        raise CommandError(str(exc)) from None
    rate = report.rows / report.seconds if report.seconds else 0.0
    click.echo(
        f"scored {report.rows:,} rows into {output_path} ({report.cvd_scored:,} with a WHO CVD "
        f"risk) in {report.seconds:.1f} s ({rate:,.0f} rows/s)"
    )
