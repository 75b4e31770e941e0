"""`songkhoe ncd indicators` and `songkhoe ncd refresh`: control indicators for analysts, and the
rebuild of the NCD projections and risk assessments."""

import csv
import sys

import click
import orjson

from songkhoe.console import CommandError, open_store
from songkhoe.ncd.indicators import COLUMNS, InvalidMonth, indicators


@click.command("indicators")
@click.option("--province", "province_code", required=True, help="Province code, e.g. 33.")
@click.option("--month", required=True, help="Reporting month, YYYY-MM.")
@click.option("--by", type=click.Choice(["commune"]), default=None, help="Add a row per commune.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
)
def indicators_command(province_code: str, month: str, by: str | None, output_format: str) -> None:
    """Hypertension and diabetes control (Simple.org definitions) and check-up coverage of a
    province for one month, from the projections of the last `songkhoe ncd refresh`."""
    try:
        rows, as_of = indicators(
            open_store().engine,
            place=("province", province_code),
            month=month,
            by_commune=by == "commune",
        )
    except InvalidMonth as exc:
        raise CommandError(f"--month: {exc}") from None
    if as_of is None:
        raise CommandError("the NCD projections were never built: run `songkhoe ncd refresh`")
    click.echo(f"projections as of {as_of}", err=True)
    if output_format == "json":
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@click.command("refresh")
def refresh_command() -> None:
    """Rebuild the NCD projections and each person's WHO CVD RiskAssessment from the store."""
    from songkhoe.ncd.service import refresh

    summary = refresh(store=open_store())
    report = summary.projections
    for name, count in report.rows.items():
        click.echo(f"{name:16} {count:>10,}")
    click.echo(
        f"projections of {report.people:,} people as of {report.as_of}; "
        f"{summary.assessed:,} risk assessments ({summary.written:,} new or changed)"
    )
