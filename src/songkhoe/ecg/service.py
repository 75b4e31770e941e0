"""What other rooms (the FHIR Observation and DiagnosticReport of a recording, the chart upload,
the AF worklist) and the `songkhoe ecg` commands call: plain functions over paths and arrays,
returning dataclasses. Errors are `ECG_ERRORS`, each message naming the file and the problem.
A caller that classifies often keeps one `Classifier()` (the model loaded and checked once) and
passes it in."""

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from songkhoe.csv_input import CsvInputError, read_csv
from songkhoe.ecg import af_windows as windows_module
from songkhoe.ecg.af_windows import DEFAULT_WINDOW_S, InvalidBeats, Window
from songkhoe.ecg.classifier import RHYTHM_NAMES, Classifier, Rhythm
from songkhoe.ecg.features import FS
from songkhoe.ecg.ingest import InvalidRecording, Recording, checked, read_recording
from songkhoe.ecg.metrics import CLASSES, Scores, score
from songkhoe.ecg.model import MODEL_DIR, ModelError, read_json
from songkhoe.ecg.peaks import r_peaks

__all__ = [
    "CLASSES", "Classifier", "DEFAULT_WINDOW_S", "ECG_ERRORS", "RHYTHM_NAMES", "Evaluation",
    "InvalidBeats", "InvalidLabels", "InvalidRecording", "ModelError", "Recording", "Rhythm",
    "Window", "af_windows", "classify_paths", "classify_signal", "evaluate", "read",
    "read_beat_times", "read_labels", "r_peak_times", "validation_report",
]  # fmt: skip


class InvalidLabels(ValueError):
    """A reference label file that cannot be read; the message names the file and row."""


ECG_ERRORS = (InvalidRecording, InvalidBeats, InvalidLabels, ModelError)


@dataclass(frozen=True, slots=True)
class Evaluation:
    scores: Scores
    records: list[str]
    reference: list[str]
    predicted: list[str]
    used_in_training: int  # how many of the records the shipped model learnt from


def read(path: Path) -> Recording:
    """A recording from a file (WFDB header or base name, CSV, DICOM)."""
    return read_recording(path)


def classify_paths(paths: Sequence[Path], classifier: Classifier | None = None) -> list[Rhythm]:
    """The proposed rhythm of each recording, in order."""
    recordings = [read_recording(p) for p in paths]
    return (classifier or Classifier()).classify(recordings)


def classify_signal(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str] | None = None,
    name: str = "signal",
    classifier: Classifier | None = None,
) -> Rhythm:
    """The proposed rhythm of samples in mV, shaped (samples,) or (samples, leads)."""
    array = np.asarray(signal, dtype=np.float64)
    array = array[:, None] if array.ndim == 1 else array
    lead_names = tuple(leads) if leads else tuple(f"lead {i + 1}" for i in range(array.shape[1]))
    recording = checked(name, array, fs, lead_names)
    return (classifier or Classifier()).classify([recording])[0]


def r_peak_times(recording: Recording) -> np.ndarray:
    """R-peak times (seconds) of the whole recording's analysis lead."""
    return r_peaks(recording.analysis_lead(), FS) / FS


def af_windows(times: Sequence[float] | np.ndarray, window_s: float = DEFAULT_WINDOW_S):
    """RR-only AF per window of beat times in seconds (`af_windows.detect`)."""
    return windows_module.detect(times, window_s)


def read_beat_times(path: Path) -> np.ndarray:
    """The `time_s` column of a CSV file (the reader of every command's CSV)."""
    try:
        csv_file = read_csv(path, ("time_s",))
        rows = csv_file.rows(numbers=("time_s",))
    except CsvInputError as exc:
        raise InvalidBeats(str(exc)) from None
    if "time_s" not in csv_file.header:
        raise InvalidBeats(f"{path}: no column time_s (beat times in seconds)")
    column = csv_file.header.index("time_s")
    times = []
    for number, row in enumerate(rows, start=2):
        cell = row[column].strip() if column < len(row) else ""
        try:
            times.append(float(cell))
        except ValueError:
            raise InvalidBeats(f"{path}: row {number}: time_s {cell!r} is not a number") from None
    try:
        return windows_module.checked_times(times)
    except InvalidBeats as exc:
        raise InvalidBeats(f"{path}: {exc}") from None


def read_labels(path: Path) -> dict[str, str]:
    """Reference labels, as the Challenge's REFERENCE.csv writes them: `record,label` per line,
    no header (a first line `record,rhythm` is allowed); labels N, A, O, ~."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidLabels(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    labels: dict[str, str] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or (number == 1 and row[0].strip().lower() == "record"):
            continue
        if len(row) != 2 or row[1].strip() not in CLASSES:
            raise InvalidLabels(
                f"{path}: row {number}: expected `record,label` with a label of N, A, O, ~"
            )
        labels[row[0].strip()] = row[1].strip()
    if not labels:
        raise InvalidLabels(f"{path}: no labels")
    return labels


def validation_report() -> dict[str, Any]:
    """The shipped model's held-out report (`model/validation.json`)."""
    return read_json(MODEL_DIR / "validation.json")


def evaluate(
    labels_path: Path,
    records_dir: Path,
    *,
    held_out_only: bool = False,
    classifier: Classifier | None = None,
) -> Evaluation:
    """The shipped model's scores on the labelled records found in `records_dir` (WFDB, by
    record name). With `held_out_only`, only the records the model did not learn from."""
    labels = read_labels(labels_path)
    names = sorted(labels)
    split = validation_report()["split"]
    if held_out_only:
        held = set(split["held_out_records"])
        names = [n for n in names if n in held]
    if not names:
        raise InvalidLabels(f"{labels_path}: none of its records is held out from training")
    classifier = classifier or Classifier()
    predicted: list[str] = []
    for start in range(0, len(names), 64):
        chunk = names[start : start + 64]
        found = classify_paths([records_dir / f"{n}.hea" for n in chunk], classifier)
        predicted.extend(r.rhythm for r in found)
    reference = [labels[n] for n in names]
    trained = len(set(names) & set(split["train_records"]))
    return Evaluation(score(reference, predicted), names, reference, predicted, trained)
