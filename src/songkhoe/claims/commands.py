"""`songkhoe bhyt ...`: health-insurance claims; `check` validates envelopes from any HIS,
`export` writes a facility's or province's signed claims."""

import os
from collections.abc import Sequence
from datetime import date
from functools import partial
from pathlib import Path

import click

from songkhoe.auth.audit import command_line_principal, record
from songkhoe.claims.catalogue import CatalogueError, load, read_price_list
from songkhoe.claims.check import check_file
from songkhoe.claims.export import Identity, export_claims, read_audit_event
from songkhoe.claims.gateway import GatewayClient, GatewayError
from songkhoe.claims.records import UnknownFacility, VisitError, iter_visits
from songkhoe.claims.sending import SendError, record_claims, send_claims
from songkhoe.claims.signing import Signer, SigningError, load_certificate, signing_files
from songkhoe.claims.visit import Visit
from songkhoe.config import get_settings
from songkhoe.console import CommandError, open_store
from songkhoe.csv_input import CsvInputError
from songkhoe.timezones import today_in_vietnam


@click.group()
def bhyt() -> None:
    """Health-insurance (BHYT) claims: the XML of QĐ 130/QĐ-BYT as amended by QĐ 4750/QĐ-BYT."""


@bhyt.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--cert",
    "cert_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="PEM certificate of the facility: verify the signatures with it, not with the one each "
    "signature embeds (which proves nothing of who signed).",
)
def check_command(files: tuple[Path, ...], cert_path: Path | None) -> int:
    """Check claim envelopes (GIAMDINHHS) against the rules of the QĐ 130/4750 appendix.

    One line per problem `file, MA_LK, table, field: what is wrong`; exit 1 when any rule fails,
    a signature that does not verify included.
    """
    cert_pem = None
    if cert_path is not None:
        try:
            cert_pem = cert_path.read_bytes()
            load_certificate(cert_pem)
        except OSError as exc:
            raise CommandError(f"--cert: cannot read {cert_path}: {exc.strerror}") from None
        except SigningError as exc:
            raise CommandError(f"--cert {cert_path}: {exc}") from None
    failures = notes = 0
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        problems = check_file(str(path), content, cert_pem)
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


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option} {value}: không phải ngày YYYY-MM-DD / not a date YYYY-MM-DD"
        ) from None


@bhyt.command("export")
@click.option("--facility", help="One facility: its BHYT code (MA_CSKCB) or Organization id.")
@click.option("--province", help="Every facility of a province (its code, e.g. 24).")
@click.option("--from", "first", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last day, YYYY-MM-DD (included).")
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the claims, one <MA_LK>.xml each.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the number of cores",
    help="Processes that build, sign and check the claims.",
)
def export_command(
    facility: str | None, province: str | None, first: str, last: str, output: Path, jobs: int
) -> int:
    """Write a signed claim envelope (GIAMDINHHS) per claimable visit that ended in the period.

    Each is checked as `bhyt check --cert` would before it is written; visits that are not
    claims are counted by reason; a claim whose data is at fault is reported on a line and not
    written (exit 1). Each claim's FHIR Claim is recorded (built, or failed the check) for the
    accountant's page and `bhyt send`. Signs with SONGKHOE_BHYT_KEY and SONGKHOE_BHYT_CERT; the
    visits read are audited.
    """
    if (facility is None) == (province is None):
        raise CommandError("cần --facility hoặc --province / give --facility or --province")
    start, end = _day("--from", first), _day("--to", last)
    if end < start:
        raise CommandError(f"--to {end} trước --from {start} / the period ends before it starts")
    try:
        key_pem, cert_pem = signing_files(get_settings())
        Signer(key_pem, cert_pem)  # a key and certificate that sign, before anything is read
    except SigningError as exc:
        raise CommandError(f"không ký được hồ sơ / cannot sign claims: {exc}") from None
    store = open_store()
    operator = command_line_principal()
    where = f"--facility {facility}" if facility else f"--province {province}"
    visits = iter_visits(store, facility=facility, province=province, start=start, end=end)

    def audit(batch: Sequence[Visit]) -> None:
        description = (
            f"songkhoe bhyt export {where} --from {start} --to {end}: "
            f"{len(batch)} visits read for BHYT claims"
        )
        record(store, read_audit_event(operator, batch, description))

    try:
        report = export_claims(
            visits,
            output,
            Identity(key_pem, cert_pem),
            made_on=today_in_vietnam(),
            audit=audit,
            record=partial(record_claims, store),
            jobs=jobs,
        )
    except VisitError as exc:  # records that make no Visit: the export stops there
        raise CommandError(
            f"không đọc được lượt khám, dừng xuất / cannot read a visit, export stopped: {exc}"
        ) from None
    except UnknownFacility as exc:
        raise CommandError(str(exc)) from None
    for line in report.errors:
        click.echo(line)
    skipped = sum(report.skipped.values())
    errors = len(report.errors)
    click.echo(
        f"đã ghi {report.written:,} hồ sơ vào {output}, bỏ qua {skipped:,}, lỗi {errors:,} / "
        f"wrote {report.written:,} claim(s) to {output}, skipped {skipped:,}, {errors:,} error(s)"
    )
    for reason, count in report.skipped.most_common():
        click.echo(f"{count:>9,}  {reason}")
    return 1 if errors else 0


@bhyt.command("send")
@click.argument(
    "folder", type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR"
)
@click.option(
    "--allow-synthetic",
    is_flag=True,
    help="Send from a facility whose BHYT code is synthetic (a stand-in gateway only).",
)
def send_command(folder: Path, allow_synthetic: bool) -> int:
    """Send the claims `bhyt export` wrote in DIR to the BHXH gateway (SONGKHOE_BHXH_URL,
    _USERNAME, _PASSWORD) and record each answer on the claim.

    Sends the claims that are built and not yet received: never sent, sent without an answer, or
    refused and since corrected and exported again; one line per claim sent, with the gateway's
    answer. Exit 1 when any was refused or not answered.
    """
    store = open_store()
    try:
        with GatewayClient.from_settings(get_settings()) as gateway:
            report = send_claims(
                store,
                sorted(folder.glob("*.xml")),
                gateway,
                allow_synthetic=allow_synthetic,
                echo=click.echo,
            )
    except (GatewayError, SendError) as exc:
        raise CommandError(f"không gửi được / cannot send: {exc}") from None
    click.echo(
        f"đã gửi {report.sent:,}, được tiếp nhận {report.accepted:,}, bị từ chối "
        f"{report.rejected:,}, không có trả lời {report.unanswered:,}, bỏ qua {report.unchanged:,}"
        f" / sent {report.sent:,}, received {report.accepted:,}, refused {report.rejected:,},"
        f" no answer {report.unanswered:,}, left as they were {report.unchanged:,}"
    )
    return 1 if report.rejected or report.unanswered else 0


@bhyt.command("summary")
@click.option("--facility", required=True, help="The facility's Organization id, e.g. tyt-07456.")
@click.option("--month", required=True, help="The settlement month, YYYY-MM.")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write: .csv (UTF-8, ';') or .xlsx.",
)
def summary_command(facility: str, month: str, output: Path) -> None:
    """Write the month's list of claims filed with BHXH (after form C79-HD of Thông tư
    102/2018/TT-BTC): the claims the gateway received, one line each, and their total.

    Reads every claim of the facility's month; the people read are audited (purpose HPAYMT).
    """
    from dataclasses import replace

    from songkhoe.auth.audit import RequestContext
    from songkhoe.auth.caller import Caller
    from songkhoe.auth.models import parse_scopes
    from songkhoe.claims.month import parse_month, read_month
    from songkhoe.claims.summary import SummaryError, csv_bytes, summarize, xlsx_bytes
    from songkhoe.places.catalog import UnknownPlace
    from songkhoe.places.facilities import facility as place_facility

    writers = {".csv": csv_bytes, ".xlsx": xlsx_bytes}
    write = writers.get(output.suffix.lower())
    if write is None:
        raise CommandError(f"--output {output}: .csv hoặc .xlsx / must end in .csv or .xlsx")
    try:
        month = parse_month(month)
        name = place_facility(facility).name
    except (ValueError, UnknownPlace) as exc:
        raise CommandError(str(exc)) from None
    operator = replace(command_line_principal(), scopes=parse_scopes("system/*.read"))
    caller = Caller(open_store(), operator, RequestContext(None, "HPAYMT"))
    claims = read_month(caller, facility, month)
    code = next((line.facility_code for line in claims.lines), "")
    try:
        summary = summarize(claims.lines, name, code, month)
    except SummaryError as exc:
        raise CommandError(
            f"không lập được bảng tổng hợp / cannot make the summary: {exc}"
        ) from None
    content = write(summary)
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_bytes(content)
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CommandError(f"--output {output}: {exc.strerror}") from None
    counted, left_out = len(summary.rows), summary.left_out
    click.echo(
        f"{output}: {counted} hồ sơ đã tiếp nhận, {left_out} chưa tính / "
        f"{counted} received claim(s), {left_out} not counted"
    )


@bhyt.group("catalogue")
def catalogue_group() -> None:
    """The facility's price list: services, supplies and drugs, with prices by date."""


@catalogue_group.command("load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--kind",
    type=click.Choice(["services", "drugs"]),
    required=True,
    help="services (services and supplies, XML3) or drugs (XML2).",
)
@click.option(
    "--catalogue",
    "name",
    default=None,
    help="Name of the price list (letters, digits, '-'); default: the file's name.",
)
def catalogue_load(file: Path, kind: str, name: str | None) -> None:
    """Load a price list from the CSV the facility keeps (columns: see `claims.catalogue`).

    Each price version becomes a ChargeItemDefinition and each drug a Medication; a list
    loaded again is updated. A version overlapping another of the same code is refused.
    """
    catalogue = name or file.stem
    try:
        entries = read_price_list(file, kind, catalogue)
        report = load(open_store(), entries, str(file))
    except (CatalogueError, CsvInputError) as exc:
        raise CommandError(str(exc)) from None
    click.echo(
        f"{catalogue}: {len(entries)} giá / prices; {report.created} tạo mới / created, "
        f"{report.updated} cập nhật / updated, {report.unchanged} không đổi / unchanged"
    )
