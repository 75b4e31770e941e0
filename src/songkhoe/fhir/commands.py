"""`songkhoe fhir`: bulk import and export of FHIR R4 resources (NDJSON files and Bundles)."""

from pathlib import Path

import click

from songkhoe.auth.audit import ENTITY_TYPE, RequestContext, audit_event, command_line_principal
from songkhoe.console import CommandError, open_store
from songkhoe.fhir.bulk import BulkImportError, ImportedFile, export_ndjson, import_files
from songkhoe.fhir.outcomes import FhirError


@click.group()
def fhir() -> None:
    """FHIR R4 data exchange: bulk import and export."""


@fhir.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_command(paths: tuple[Path, ...]) -> None:
    """Import NDJSON files (one resource per line) and Bundle JSON files; a directory stands for
    its .ndjson and .json files. Each file is all-or-nothing, audited, and skipped when run
    again once committed."""
    try:
        report = import_files(open_store(), paths, audit=_audit_event)
    except BulkImportError as exc:
        raise CommandError(str(exc)) from None
    for path, earlier in report.skipped:
        click.echo(f"skipped {path}: already imported at {earlier.imported} as {earlier.path}")
    for resource_type, count in sorted(report.counts.items()):
        click.echo(f"{resource_type:24} {count:>10,}")
    rate = report.resources / report.seconds if report.seconds else 0.0
    click.echo(
        f"imported {report.resources:,} resources from {report.files:,} files "
        f"in {report.seconds:.1f} s ({rate:,.0f} resources/s)"
    )


def _audit_event(imported: ImportedFile) -> dict:
    """The AuditEvent of one file's import (auth.audit's shape): the agent is the command line
    (`cli`) run by the operating-system user; the entity, the file with the resources written
    per type."""
    cli = command_line_principal()
    counts = ", ".join(f"{t} {n}" for t, n in sorted(imported.counts.items()))
    event = audit_event(
        principal=cli,
        context=RequestContext(address=None),
        interaction="transaction",
        outcome="success",
        references=[],
        description=f"songkhoe fhir import {imported.path}: {counts}",
    )
    entity: dict = {
        "type": {"system": ENTITY_TYPE, "code": "2"},  # a system object: the file
        "name": imported.path,
        "description": f"SHA-256 {imported.sha256}",
    }
    if imported.counts:
        entity["detail"] = [{"type": t, "valueString": str(n)} for t, n in imported.counts.items()]
    event["entity"] = [entity]
    return event


def _types(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    return None if value is None else [t.strip() for t in value.split(",") if t.strip()]


@fhir.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the TYPE.ndjson files.",
)
@click.option(
    "--type", "types", default=None, callback=_types, help="Resource types, e.g. Patient,Encounter."
)
@click.option("--since", default=None, help="Only resources changed after this instant.")
def export_command(out_dir: Path, types: list[str] | None, since: str | None) -> None:
    """Export the current version of every resource, one NDJSON file per resource type."""
    try:
        result = export_ndjson(open_store(), out_dir, types=types, since=since)
    except FhirError as exc:
        raise CommandError(str(exc)) from None
    for resource_type, count in result.counts.items():
        click.echo(f"{out_dir / resource_type}.ndjson  {count:,}")
    total = sum(result.counts.values())
    click.echo(f"exported {total:,} resources as of {result.transaction_time}")
