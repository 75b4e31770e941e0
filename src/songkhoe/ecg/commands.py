"""`songkhoe ecg ...`: classifying recordings, RR-only AF windows, scoring against labels.
The AI proposes; a clinician confirms (AI hỗ trợ — bác sĩ xác nhận)."""

import csv
import math
from pathlib import Path

import click
import orjson

from songkhoe.console import CommandError


def _service():
    """The ECG service, imported when a command runs (wfdb and ONNX Runtime take a second to
    load; `songkhoe --help` should not wait for them)."""
    from songkhoe.ecg import service

    return service


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from None


@click.group()
def ecg() -> None:
    """Điện tâm đồ: sàng lọc rung nhĩ / ECG rhythm screening (AI hỗ trợ — bác sĩ xác nhận)."""


@ecg.command("classify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
def classify_command(paths: tuple[Path, ...], output: Path) -> None:
    """Propose a rhythm (N, A, O, ~) for each recording: WFDB (.hea or base name), DICOM, CSV."""
    service = _service()
    try:
        found = service.classify_paths(list(paths))
    except service.ECG_ERRORS as exc:
        raise CommandError(str(exc)) from None
    rows = [
        [
            r.record,
            r.rhythm,
            f"{r.af_probability:.4f}",
            "" if r.heart_rate_bpm is None else f"{r.heart_rate_bpm:.1f}",
        ]
        for r in found
    ]
    _write_rows(output, ["record", "rhythm", "af_probability", "heart_rate_bpm"], rows)
    af = sum(r.rhythm == "A" for r in found)
    click.echo(f"{len(found)} recordings classified, {af} proposed AF; wrote {output}")


@ecg.command("af-windows")
@click.option("--beats", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--window-s", type=float, default=None, help="Window length, s (default 30).")
def af_windows_command(beats: Path, output: Path, window_s: float | None) -> None:
    """AF or not per window from beat times only (BEATS.csv column time_s, seconds)."""
    service = _service()
    window_s = service.DEFAULT_WINDOW_S if window_s is None else window_s
    if not (math.isfinite(window_s) and window_s >= 5):
        raise CommandError(f"--window-s must be 5 s or more, got {window_s:g}")
    try:
        found = service.af_windows(service.read_beat_times(beats), window_s)
    except service.ECG_ERRORS as exc:
        raise CommandError(str(exc)) from None
    rows = [[f"{w.start_s:.3f}", f"{w.end_s:.3f}", "true" if w.af else "false"] for w in found]
    _write_rows(output, ["start_s", "end_s", "af"], rows)
    click.echo(f"{len(found)} windows, {sum(w.af for w in found)} AF; wrote {output}")


@ecg.command("evaluate")
@click.option("--labels", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--records", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--held-out", is_flag=True, help="Only the records the model did not learn from.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_command(labels: Path, records: Path, held_out: bool, as_json: bool) -> None:
    """Score the shipped model against reference labels (REFERENCE.csv: record,label)."""
    service = _service()
    try:
        result = service.evaluate(labels, records, held_out_only=held_out)
    except service.ECG_ERRORS as exc:
        raise CommandError(str(exc)) from None
    report = {**result.scores.to_dict(), "records_used_in_training": result.used_in_training}
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    s = result.scores
    click.echo(f"records: {s.count}")
    if result.used_in_training:
        click.echo(
            f"note: the model learnt from {result.used_in_training} of them; "
            "--held-out scores only the others"
        )
    click.echo("F1: " + ", ".join(f"{c} {v:.3f}" for c, v in s.f1.items()))
    for title, x in (
        ("Challenge score (mean F1 N, A, O)", s.challenge),
        ("AF sensitivity", s.af_sensitivity),
        ("AF specificity", s.af_specificity),
    ):
        click.echo(f"{title}: {x.value:.3f} (95 % CI {x.low:.3f}-{x.high:.3f})")
    click.echo("confusion (rows reference, columns predicted):")
    click.echo("      " + "".join(f"{c:>7}" for c in service.CLASSES))
    for c, row in zip(service.CLASSES, s.confusion, strict=True):
        click.echo(f"{c:>6}" + "".join(f"{v:>7}" for v in row))
