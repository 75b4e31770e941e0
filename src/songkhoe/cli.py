"""The `songkhoe` command: one sub-command (group) per domain.

Every error the user can fix (bad input, unreachable database) ends with one line on stderr,
`songkhoe: error: ...`, and exit status 2.
"""

import sys
from datetime import date
from pathlib import Path

import click
import orjson

from songkhoe.auth.commands import clients, token, users
from songkhoe.auth.service import AuthError
from songkhoe.chatbot.commands import chat
from songkhoe.claims.commands import bhyt
from songkhoe.config import SettingError, get_settings
from songkhoe.console import USAGE_EXIT, CommandError, open_store
from songkhoe.db.backup_commands import backup_command, restore_command
from songkhoe.db.engine import DatabaseUnavailable
from songkhoe.ecg.commands import ecg
from songkhoe.fhir.commands import fhir
from songkhoe.fhir.search import InvalidSearch
from songkhoe.fhir.searchparams import UnknownSearchParameter
from songkhoe.fhir.store import ResourceStore, StoreError
from songkhoe.imaging.commands import imaging
from songkhoe.ncd.commands import ncd
from songkhoe.ncd.indicator_commands import indicators_command, refresh_command
from songkhoe.places import service as places_service
from songkhoe.places.catalog import UnknownPlace
from songkhoe.surveillance.commands import surveillance
from songkhoe.surveillance.platform_commands import add_platform_commands
from songkhoe.telehealth.commands import telehealth

USER_ERRORS = (
    AuthError,
    DatabaseUnavailable,
    SettingError,
    UnknownPlace,
    StoreError,
    InvalidSearch,
    UnknownSearchParameter,
)
DEMO_ACCOUNTS = Path("var/demo-accounts.txt")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Sống Khỏe: smart health for Vietnam's grassroots health network."""


@cli.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database named by SONGKHOE_DATABASE_URL."""
    open_store()
    click.echo("database is up to date")


@cli.group()
def places() -> None:
    """Provinces, communes and health facilities."""


@places.command("load")
def places_load() -> None:
    """Load the 34 provinces, 3,321 communes and the facilities as FHIR resources."""
    created = places_service.load(store=open_store())
    click.echo(f"places loaded: {created} resources created")


def _positive_people(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value < 0:
        raise CommandError(f"--people must be zero or more, got {value}")
    return value


def _synthesise(store: ResourceStore, province_code: str, people: int, seed: int, as_of: date):
    from songkhoe.synth.service import populate

    def progress(done: int, resources: int) -> None:
        click.echo(f"\r  {done:,}/{people:,} people, {resources:,} resources", nl=False, err=True)

    report = populate(
        store=store,
        province_code=province_code,
        people=people,
        seed=seed,
        as_of=as_of,
        progress=progress,
    )
    click.echo("", err=True)
    rate = report.people / report.seconds if report.seconds else 0.0
    click.echo(
        f"synthesised {report.people:,} people and {report.resources:,} resources "
        f"in {report.seconds:.1f} s ({rate:,.0f} people/s)"
    )


@cli.command()
@click.option("--province", "province_code", required=True, help="Province code, e.g. 24.")
@click.option("--people", type=int, required=True, callback=_positive_people)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last day of the generated history (default: today).",
)
def synth(province_code: str, people: int, seed: int, as_of) -> None:
    """Generate a synthetic population with check-up history for one province."""
    from songkhoe.places.catalog import province

    province(province_code)
    store = open_store()
    places_service.load(store=store)
    _synthesise(store, province_code, people, seed, as_of.date() if as_of else date.today())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(as_json: bool) -> None:
    """Counts per resource type and per province."""
    from songkhoe.stats import collect

    result = collect(store=open_store())
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    for res_type, count in result["resources"].items():
        click.echo(f"{res_type:24} {count:>10,}")
    for code, row in result["provinces"].items():
        click.echo(f"province {code} {row['name']}: {row['people']:,} people")


@cli.command()
@click.option("--host", default=None, help="Default: SONGKHOE_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: SONGKHOE_PORT or 8000.")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web app and API."""
    import uvicorn

    from songkhoe.app import create_app
    from songkhoe.logging_setup import configure_logging
    from songkhoe.runtime import tune_for_server

    settings = get_settings()
    store = open_store()
    store.analyze()
    host, port = host or settings.host, port or settings.port
    click.echo(f"Sống Khỏe is running at http://{host}:{port}/  (Ctrl+C to stop)")
    configure_logging("INFO")
    app = create_app(store=store)
    tune_for_server()
    uvicorn.run(app, host=host, port=port, log_config=None)


@cli.command()
@click.option("--province", "province_code", default="24", show_default=True)
@click.option("--people", type=int, default=20000, show_default=True, callback=_positive_people)
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_context
def demo(ctx: click.Context, province_code: str, people: int, seed: int) -> None:
    """Set up the database, synthesise a province if it holds nobody yet, and serve."""
    from songkhoe.auth.demo import DEMO_CENTRAL_HOSPITAL, DEMO_SPECIALISTS, ensure_demo_accounts
    from songkhoe.places.catalog import province
    from songkhoe.surveillance.synth_cases import demo_surveillance
    from songkhoe.telehealth.queues import configure_queue

    province(province_code)
    store = open_store()
    places_service.load(store=store)
    if store.count_by_type().get("Patient", 0) == 0:
        _synthesise(store, province_code, people, seed, date.today())
    click.echo(demo_surveillance(store, province_code))
    accounts_file = DEMO_ACCOUNTS
    accounts = ensure_demo_accounts(store, province_code=province_code, path=accounts_file)
    if any(line.startswith(DEMO_SPECIALISTS[0] + " ") for line in accounts):
        specialist, backup = DEMO_SPECIALISTS
        for specialty in ("cardiology", "pulmonology", "radiology", "endocrinology"):
            configure_queue(store, facility_id=DEMO_CENTRAL_HOSPITAL, specialty=specialty,
                            specialists=[specialist], backups=[backup])  # fmt: skip
    if accounts:
        click.echo(f"Log in with a demo account (username, password; kept in {accounts_file}):")
        for line in accounts:
            click.echo(f"  {line}")
    ctx.invoke(serve)


ncd.add_command(indicators_command)
ncd.add_command(refresh_command)
add_platform_commands(surveillance)
for command in (fhir, ncd, surveillance, users, clients, token, backup_command, restore_command):
    cli.add_command(command)
cli.add_command(telehealth)
cli.add_command(chat)
cli.add_command(imaging)
cli.add_command(ecg)
cli.add_command(bhyt)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning user errors into one line and exit status 2."""
    try:
        code = cli.main(args=argv, prog_name="songkhoe", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"songkhoe: error: {exc.format_message()}", err=True)
        sys.exit(USAGE_EXIT)
    except USER_ERRORS as exc:
        click.echo(f"songkhoe: error: {exc}", err=True)
        sys.exit(USAGE_EXIT)
    sys.exit(code if isinstance(code, int) else 0)
