"""`songkhoe bhyt ...`: health-insurance claims; `check` validates envelopes from any HIS."""

from pathlib import Path

import click

from songkhoe.claims.check import check_file
from songkhoe.console import CommandError


@click.group()
def bhyt() -> None:
    """Health-insurance (BHYT) claims: the XML of QĐ 130/QĐ-BYT as amended by QĐ 4750/QĐ-BYT."""


@bhyt.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def check_command(files: tuple[Path, ...]) -> int:
    """Check claim envelopes (GIAMDINHHS) against the rules of the QĐ 130/4750 appendix.

    One line per problem `file, MA_LK, table, field: what is wrong`; exit 1 when any rule fails.
    """
    failures = notes = 0
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        problems = check_file(str(path), content)
        for problem in problems:
            click.echo(problem.line())
        failures += sum(p.fails for p in problems)
        notes += sum(not p.fails for p in problems)
    click.echo(
        f"{len(files)} tệp, {failures} lỗi, {notes} ghi chú / "
        f"{len(files)} file(s), {failures} problem(s), {notes} note(s)",
        err=True,
    )
    return 1 if failures else 0
