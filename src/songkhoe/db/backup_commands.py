"""`songkhoe backup` and `songkhoe restore`: portable backups of the whole database."""

from pathlib import Path

import click

from songkhoe.console import CommandError, open_store
from songkhoe.db.backup import BackupError, backup, restore


def _rate(rows: int, seconds: float) -> str:
    return f"{rows:,} rows in {seconds:.1f} s ({rows / seconds if seconds else 0.0:,.0f} rows/s)"


@click.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The backup file to write (gzip, replaced only once complete).",
)
def backup_command(out: Path) -> None:
    """Back up the whole database from one consistent snapshot, while the app keeps running."""

    def progress(table: str, rows: int) -> None:
        click.echo(f"\r  {table + ':':16} {rows:>12,} rows", nl=False, err=True)

    try:
        report = backup(open_store(migrate=False).engine, out, progress=progress)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    click.echo("", err=True)
    click.echo(
        f"backup {report.path} as of {report.snapshot_at}: " + _rate(report.rows, report.seconds)
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the contents of a non-empty database.")
def restore_command(file: Path, force: bool) -> None:
    """Restore a backup into the database, all or nothing, and check its integrity."""
    try:
        report = restore(open_store(migrate=False).engine, file, force=force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    click.echo(
        f"restored {file} (as of {report.header['created']}): " + _rate(report.rows, report.seconds)
    )
    for problem in report.problems:
        click.echo(f"integrity: {problem}", err=True)
    if report.problems:
        raise click.exceptions.Exit(1)
    click.echo("integrity check: ok")
