"""`songkhoe imaging ...`: the model registry, reading films from files, local validation and
the AI worker."""

import threading
from pathlib import Path

import click
import numpy as np
import orjson

from songkhoe.config import get_settings
from songkhoe.console import CommandError, open_store
from songkhoe.csv_input import CsvInputError, read_csv
from songkhoe.imaging.ingest import InvalidImage, read_film
from songkhoe.imaging.registry import ModelError, catalog, installed, is_installed


def _fail(problem: Exception | str) -> click.ClickException:
    """One line on stderr and exit status 2."""
    return CommandError(str(problem))


def _model_dir() -> Path:
    return get_settings().model_dir


def _analyzer(name: str):
    from songkhoe.imaging.inference import Analyzer

    try:
        return Analyzer(installed(name, _model_dir()))
    except ModelError as exc:
        raise _fail(exc) from None


def _films(paths: list[Path]):
    try:
        return [read_film(p.read_bytes(), str(p)) for p in paths]
    except (InvalidImage, OSError) as exc:
        raise _fail(exc) from None


@click.group()
def imaging() -> None:
    """AI chest X-ray screening: models, reading films, validation, the worker."""


@imaging.command("models")
def models_command() -> None:
    """List the models and whether their weights are installed."""
    model_dir = _model_dir()
    for m in catalog(model_dir):
        state = "installed" if is_installed(m.name, model_dir) else "not installed"
        kind = "DEMONSTRATION, not for clinical use" if m.demo else m.licence
        click.echo(f"{m.name:28} {state:14} {len(m.labels):2} findings  {m.input_size}px  {kind}")


@imaging.command("install")
@click.argument("name")
@click.option("--from", "source", type=click.Path(path_type=Path), help="A weights file.")
@click.option("--sha256", help="The weights file's SHA-256, when the manifest has none.")
@click.option("--operating-point", type=float, help="Suspicion threshold (default: manifest's).")
def install_command(name: str, source: Path | None, sha256: str | None, operating_point) -> None:
    """Install a model: download (or take --from FILE), check the SHA-256, convert to ONNX;
    `phantom-demo` is trained here in seconds."""
    from songkhoe.imaging.install import install

    try:
        model = install(
            name,
            model_dir=_model_dir(),
            source=source,
            sha256=sha256,
            operating_point=operating_point,
        )
    except ModelError as exc:
        raise _fail(exc) from None
    click.echo(f"installed {model.manifest.name} ({model.onnx_path}, sha256 {model.onnx_sha256})")


@imaging.command("register")
@click.argument("name")
@click.option("--onnx", "onnx_file", required=True, type=click.Path(path_type=Path))
@click.option("--sha256", required=True, help="The ONNX file's SHA-256.")
@click.option("--labels", required=True, help="Comma-separated findings, in output order.")
@click.option("--input-size", type=int, required=True)
@click.option("--title", required=True)
@click.option("--source", required=True, help="Where the model comes from.")
@click.option("--licence", required=True)
@click.option("--suspicion-labels", help="Findings that make up the suspicion (default: all).")
@click.option("--operating-point", type=float, default=0.5, show_default=True)
@click.option("--postprocess", type=click.Choice(["sigmoid", "none"]), default="sigmoid")
def register_command(
    name: str,
    onnx_file: Path,
    sha256: str,
    labels: str,
    input_size: int,
    title: str,
    source: str,
    licence: str,
    suspicion_labels: str | None,
    operating_point: float,
    postprocess: str,
) -> None:
    """Register a hospital's own ONNX model."""
    from songkhoe.imaging.install import register

    split = [x.strip() for x in labels.split(",") if x.strip()]
    chosen = [x.strip() for x in suspicion_labels.split(",")] if suspicion_labels else None
    try:
        model = register(
            name=name,
            onnx_file=onnx_file,
            sha256=sha256,
            labels=split,
            input_size=input_size,
            model_dir=_model_dir(),
            title=title,
            source=source,
            licence=licence,
            suspicion_labels=chosen,
            operating_point=operating_point,
            postprocess=postprocess,
        )
    except ModelError as exc:
        raise _fail(exc) from None
    click.echo(f"registered {model.manifest.name} ({model.onnx_path})")


@imaging.command("analyze")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_name", required=True)
@click.option("--output", required=True, type=click.Path(path_type=Path))
@click.option("--batch-size", type=int, default=8, show_default=True)
def analyze_command(files: tuple[Path, ...], model_name: str, output: Path, batch_size: int):
    """Read films: one JSON per image (scores, top finding's region, heatmap path) and the
    heatmap PNGs."""
    from songkhoe.imaging.heatmap import overlay_png

    analyzer = _analyzer(model_name)
    films = _films(list(files))
    output.mkdir(parents=True, exist_ok=True)
    for path, film, result in zip(files, films, analyzer.analyze(films, batch_size), strict=True):
        heatmap = None
        if result.heat is not None and result.region is not None:
            heatmap = output / f"{path.stem}.heatmap.png"
            heatmap.write_bytes(overlay_png(film.display(), result.heat, result.region))
        x, y, w, h = result.region or (None, None, None, None)
        record = {
            "file": str(path),
            "model": result.model,
            "demo": result.demo,
            "scores": result.scores,
            "suspicion": result.suspicion,
            "operating_point": result.operating_point,
            "positive": result.positive,
            "top_finding": result.top_finding,
            "region": None if result.region is None else {"x": x, "y": y, "width": w, "height": h},
            "heatmap": str(heatmap) if heatmap else None,
        }
        target = output / f"{path.stem}.json"
        target.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        click.echo(
            f"{path}: suspicion {result.suspicion:.3f} "
            f"({'POSITIVE' if result.positive else 'negative'}), {target}"
        )


def read_labels(path: Path) -> list[tuple[str, int]]:
    """LABELS.csv (read by `songkhoe.csv_input`): columns `image` (a file name under --images)
    and `label` (1 abnormal, 0 not); blank lines are skipped, a bad row is named."""
    try:
        table = read_csv(path, ("image", "label"))
        records = table.rows()
    except CsvInputError as exc:
        raise _fail(exc) from None
    if not {"image", "label"} <= set(table.header):
        raise _fail(f"{path}: needs the columns image and label")
    image, label = table.header.index("image"), table.header.index("label")
    rows = []
    for number, record in enumerate(records, start=2):
        if not record:
            continue
        if len(record) != len(table.header):
            raise _fail(
                f"{path}, row {number}: {len(record)} fields, the header has {len(table.header)}"
            )
        if record[label].strip() not in ("0", "1"):
            raise _fail(f"{path}, row {number}: label must be 0 or 1, got {record[label]!r}")
        rows.append((record[image].strip(), int(record[label])))
    return rows


@imaging.command("evaluate")
@click.option("--labels", "labels_file", required=True, type=click.Path(path_type=Path))
@click.option("--images", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--model", "model_name", required=True)
@click.option("--operating-point", type=float, help="Default: the installed model's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_command(
    labels_file: Path, images: Path, model_name: str, operating_point: float | None, as_json: bool
) -> None:
    """Local validation: AUC with a bootstrap CI, sensitivity/specificity at the operating
    point, calibration."""
    from songkhoe.imaging.metrics import evaluate

    rows = read_labels(labels_file)
    analyzer = _analyzer(model_name)
    films = _films([images / name for name, _ in rows])
    scores = np.array([a.suspicion for a in analyzer.analyze(films)])
    point = operating_point if operating_point is not None else analyzer.manifest.operating_point
    try:
        result = evaluate(np.array([label for _, label in rows]), scores, point)
    except ValueError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    lo, hi = result.auc_ci
    click.echo(f"{model_name}: {result.films} films, {result.positives} abnormal")
    click.echo(f"AUC {result.auc:.3f} (95% bootstrap CI {lo:.3f}–{hi:.3f})")
    for name, value, (a, b) in (
        ("sensitivity", result.sensitivity, result.sensitivity_ci),
        ("specificity", result.specificity, result.specificity_ci),
    ):
        click.echo(f"{name} at {point:.3f}: {value:.3f} (95% CI {a:.3f}–{b:.3f})")
    verdict = "meets" if result.meets_who_target else "does NOT meet"
    click.echo(f"WHO TB screening target (sensitivity ≥ 0.90, specificity ≥ 0.70): {verdict}")
    click.echo(
        f"threshold keeping sensitivity ≥ 0.90: {result.threshold_for_90_sensitivity:.3f} "
        f"(specificity {result.specificity_at_that_threshold:.3f})"
    )
    click.echo(f"calibration: Brier {result.brier:.3f}, ECE {result.ece:.3f}")
    for row in result.calibration:
        click.echo(
            f"  {row['low']:.1f}–{row['high']:.1f}: {row['films']:4} films, mean score "
            f"{row['mean_score']:.3f}, observed {row['observed']:.3f}"
        )


@imaging.command("worker")
@click.option("--once", is_flag=True, help="Read what is waiting, then stop.")
@click.option("--poll", type=float, default=2.0, show_default=True, help="Seconds between polls.")
def worker_command(once: bool, poll: float) -> None:
    """Run the AI worker: read waiting films with SONGKHOE_IMAGING_MODEL."""
    from songkhoe.imaging import worker
    from songkhoe.imaging.media import MediaFiles
    from songkhoe.imaging.registry import resolve
    from songkhoe.logging_setup import configure_logging

    settings = get_settings()
    store, files = open_store(), MediaFiles(settings.media_dir)
    configure_logging("INFO")
    if once:
        try:
            name = resolve(settings.imaging_model, settings.model_dir)
        except ModelError as exc:
            raise _fail(exc) from None
        analyzer = _analyzer(name)
        total = 0
        while count := worker.run_once(store, files, analyzer):
            total += count
        click.echo(f"{total} film(s) read with {name}")
        return
    click.echo("imaging worker running (Ctrl+C to stop)")
    stop = threading.Event()
    try:
        worker.run(
            store,
            files,
            model_choice=settings.imaging_model,
            model_dir=settings.model_dir,
            stop=stop,
            poll_seconds=poll,
        )
    except KeyboardInterrupt:
        stop.set()
