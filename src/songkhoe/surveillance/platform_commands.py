"""`songkhoe surveillance aggregate | weekly | forecast`: the platform's surveillance commands
over the database (added to the `surveillance` group by `add_platform_commands`)."""

from datetime import date
from pathlib import Path

import click
import numpy as np

from songkhoe.console import CommandError, open_store
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance.detect import METHODS, DetectError
from songkhoe.surveillance.diseases import DISEASES, UnknownDisease
from songkhoe.surveillance.forecast import ForecastError


def _week(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return agg.parse_week(text)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}") from None


@click.command("aggregate")
@click.option("--province", "province_code", required=True, help="Province code, e.g. 24.")
@click.option("--disease", required=True, type=click.Choice(list(DISEASES)))
@click.option("--level", type=click.Choice(agg.LEVELS), default="commune", show_default=True)
@click.option("--from", "from_week", default=None, help="First week, YYYY-Www (default: the "
              "week of the first case report).")  # fmt: skip
@click.option("--to", "to_week", default=None, help="Last week (default: the last complete one).")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def aggregate_command(
    province_code: str, disease: str, level: str, from_week: str | None, to_week: str | None,
    output: Path,
) -> None:  # fmt: skip
    """Weekly case counts (ISO weeks, Monday start, zeros included) per commune of a province,
    or for the whole province, written as `songkhoe surveillance detect` input:
    date,count,unit,population (population: people registered with the commune stations)."""
    engine = open_store().engine
    cases = agg.read_cases(engine)
    try:
        series = agg.weekly_series(
            engine, province_code=province_code, disease=disease, start=_week(from_week, "--from"),
            end=_week(to_week, "--to"), level=level, cases=cases,
        )  # fmt: skip
    except agg.AggregationError as exc:
        raise CommandError(str(exc)) from None
    if cases.unplaced:
        click.echo(f"note: {agg.unplaced_note(cases.unplaced)}", err=True)
    empty = int((series.population[:, 0] == 0).sum())
    if empty:
        click.echo(
            f"note: {empty} of {len(series.units)} units have nobody registered; the population "
            "column is left out",
            err=True,
        )
    agg.write_series_csv(output, series, with_population=not empty)
    click.echo(
        f"{disease}, province {province_code}: {len(series.units)} {level} series x "
        f"{series.dates.size} weeks ({series.dates[0]} to {series.dates[-1]}), "
        f"{int(series.counts.sum()):,} cases -> {output}"
    )


@click.command("weekly")
@click.option("--week", default=None, help="ISO week YYYY-Www (default: the last complete one).")
@click.option("--method", type=click.Choice(list(METHODS)), default="noufaily", show_default=True)
@click.option("--alpha", type=float, default=None, help="Default: R's default for the method.")
def weekly_command(week: str | None, method: str, alpha: float | None) -> None:
    """Run the detector on every commune x disease series of the database for one week and
    raise an alert (FHIR DetectedIssue) per alarm; running it again adds no duplicate."""
    from songkhoe.surveillance.service import run_weekly

    control = {}
    if alpha is not None:
        if "alpha" not in METHODS[method].options or not 0 < alpha < 1:
            raise CommandError(f"--alpha must be between 0 and 1 and apply to --method {method}")
        control["alpha"] = alpha
    try:
        report = run_weekly(
            open_store(), week=_week(week, "--week"), method=method, control=control
        )
    except (agg.AggregationError, DetectError) as exc:
        raise CommandError(str(exc)) from None
    for line in report.skipped:
        click.echo(f"skipped {line}", err=True)
    if not report.series:
        raise CommandError(f"no series could be evaluated for {agg.week_label(report.week)}")
    click.echo(report.summary())


@click.command("forecast")
@click.option("--province", "province_code", required=True, help="Province code, e.g. 24.")
@click.option("--disease", required=True, type=click.Choice(list(DISEASES)))
@click.option("--backtest", "backtest_weeks", type=click.IntRange(min=1), default=None,
              help="Also back-test over the last N weeks (rolling origin).")  # fmt: skip
def forecast_command(province_code: str, disease: str, backtest_weeks: int | None) -> None:
    """Forecast the next 4 weeks of a province's cases of a disease with 80% and 95%
    prediction intervals; with --backtest N, the accuracy of the last N weeks' forecasts
    against the seasonal naive baseline."""
    from songkhoe.surveillance.service import province_forecast

    try:
        result = province_forecast(
            open_store(),
            province_code=province_code,
            disease=disease,
            backtest_weeks=backtest_weeks,
        )
    except (agg.AggregationError, ForecastError, UnknownDisease) as exc:
        raise CommandError(str(exc)) from None
    f = result.forecast
    click.echo(
        f"{disease}, province {province_code}: weeks {result.weeks[0]} to {result.weeks[-1]}, "
        f"model {f.model}"
    )
    click.echo("week        mean   80% interval   95% interval")
    for i, week in enumerate(result.future):
        click.echo(
            f"{agg.week_label(week)}  {f.mean[i]:6.1f}   {f.lower80[i]:4.0f} - {f.upper80[i]:<5.0f}"
            f"   {f.lower95[i]:4.0f} - {f.upper95[i]:<5.0f}"
        )
    b = result.backtest
    if b is None:
        return
    click.echo(f"back-test, {b.origins} origins, horizons 1-{b.horizon} (models: "
               f"{', '.join(f'{k} {v}' for k, v in b.models_used.items())})")  # fmt: skip
    click.echo("method           n     MAE   sMAPE  cover80  cover95")
    for name, s in (("model", b.model), ("seasonal naive", b.baseline)):
        click.echo(
            f"{name:15} {s.n:3} {s.mae:7.2f} {s.smape:7.3f} {s.coverage80:8.2f} {s.coverage95:8.2f}"
        )
    ratio = b.model.mae / b.baseline.mae if b.baseline.mae else np.nan
    click.echo(f"MAE ratio model / seasonal naive: {ratio:.2f}")


def add_platform_commands(group: click.Group) -> None:
    """Add aggregate, weekly and forecast to the `songkhoe surveillance` group."""
    for command in (aggregate_command, weekly_command, forecast_command):
        group.add_command(command)
