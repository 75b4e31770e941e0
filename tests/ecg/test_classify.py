"""The shipped rhythm model: its checksum, its held-out report, and what it says of a few
recordings of the shared set that it did not learn from."""

import csv
import shutil

import numpy as np
import pytest

from songkhoe.ecg import service
from songkhoe.ecg.classifier import Classifier
from songkhoe.ecg.model import MODEL_DIR, ModelError, RhythmModel, model_input


def _held_out(cinc, per_class: int) -> list[tuple[str, str]]:
    """The first `per_class` held-out records of each label, by name."""
    held = set(service.validation_report()["split"]["held_out_records"])
    with (cinc / "REFERENCE.csv").open() as f:
        rows = [(r[0], r[1]) for r in csv.reader(f) if r and r[0] in held]
    chosen: list[tuple[str, str]] = []
    for label in ("N", "A", "O", "~"):
        chosen.extend([r for r in rows if r[1] == label][:per_class])
    return chosen


def test_report_meets_the_issue_pass_level():
    # Issue 25: pass at a Challenge score >= 0.80 with AF sensitivity >= 0.85 at specificity
    # >= 0.97, on recordings not used to train.
    held_out = service.validation_report()["held_out"]
    assert held_out["records"] == len(service.validation_report()["split"]["held_out_records"])
    assert held_out["challenge_score"]["value"] >= 0.80
    assert held_out["af_sensitivity"]["value"] >= 0.85
    assert held_out["af_specificity"]["value"] >= 0.97


def test_altered_model_is_refused(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    onnx = folder / "rhythm.onnx"
    data = bytearray(onnx.read_bytes())
    data[-1] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        RhythmModel.load(folder)


def test_held_out_recordings_reproduce_the_report(cinc, classifier):
    # 5 held-out records per label (20); the model's calls on them are scored as the report
    # scores all 1,306: most must agree with the reference, and every call is one of N, A, O, ~.
    chosen = _held_out(cinc, 5)
    found = service.classify_paths([cinc / "records" / f"{n}.hea" for n, _ in chosen], classifier)
    pairs = [(r, label) for r, (_, label) in zip(found, chosen, strict=True)]
    assert sum(r.rhythm == label for r, label in pairs) >= 14, pairs
    af = [r for r, label in pairs if label == "A"]
    normal = [r for r, label in pairs if label == "N"]
    assert np.mean([r.af_probability for r in af]) > 0.5 > max(r.af_probability for r in normal)
    for r in found:
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.quality.template_correlation <= 1.0


def test_the_same_recording_at_500_hz_in_csv_gets_the_same_call(cinc, classifier, tmp_path):
    # A held-out AF recording, resampled from 300 to 500 Hz and written as CSV (time, lead I):
    # read back and resampled to 300 Hz, it must get the same rhythm, its AF probability
    # within 0.1 and its heart rate within 2 bpm.
    name, _ = _held_out(cinc, 1)[1]
    original = service.read(cinc / "records" / name)
    first = classifier.classify([original])[0]
    upsampled = service.classify_signal(
        np.interp(np.arange(0, original.seconds, 1 / 500), np.arange(original.signal.shape[0])
                  / 300, original.signal[:, 0]),
        500.0, ["I"], name, classifier,
    )  # fmt: skip
    assert upsampled.rhythm == first.rhythm
    assert abs(upsampled.af_probability - first.af_probability) < 0.1
    assert first.heart_rate_bpm is not None and upsampled.heart_rate_bpm is not None
    assert abs(upsampled.heart_rate_bpm - first.heart_rate_bpm) < 2


def test_synthetic_sinus_rhythm_at_75_bpm(classifier):
    # Gaussian P, QRS and T waves every 0.8 s (75 bpm) from 0.5 s for 30 s at 250 Hz: 37 beats
    # (0.5 + 0.8 × 36 = 29.3 s is the last), each R-peak found within 4 ms, 75 bpm within 1,
    # readable, and a normal rhythm.
    fs = 250.0
    t = np.arange(int(30 * fs)) / fs
    signal = np.zeros_like(t)
    for beat in np.arange(0.5, 30, 0.8):
        for offset, width, height in ((-0.16, 0.025, 0.15), (0.0, 0.012, 1.2), (0.25, 0.05, 0.3)):
            signal += height * np.exp(-0.5 * ((t - beat - offset) / width) ** 2)
    found = service.classify_signal(signal, fs, ["II"], "synthetic", classifier)
    assert found.heart_rate_bpm == pytest.approx(75.0, abs=1.0)
    assert np.abs(found.r_peaks_s - (0.5 + 0.8 * np.arange(37))).max() < 0.004
    assert found.rhythm == "N"
    assert found.quality.readable and found.quality.problem is None
    assert found.lead == "II"


def test_model_input_keeps_distinct_values_apart():
    # 1.0 and its next float32 collapse to one value (the cut of 8 mantissa bits), NaN becomes
    # -1000, and 0.1 loses less than 1e-4 of its value.
    rows = np.array([[1.0, np.nextafter(np.float32(1.0), np.float32(2.0)), np.nan, 0.1]])
    cut = model_input(rows)[0]
    assert cut[0] == cut[1] == 1.0 and cut[2] == -1000.0
    assert abs(cut[3] - 0.1) / 0.1 < 1e-4


def test_classifier_batch_equals_one_by_one(cinc, classifier):
    paths = [cinc / "records" / f"{n}.hea" for n, _ in _held_out(cinc, 1)]
    batch = service.classify_paths(paths, classifier)
    alone = [service.classify_paths([p], Classifier(classifier.model))[0] for p in paths]
    assert [r.rhythm for r in batch] == [r.rhythm for r in alone]
    assert [r.af_probability for r in batch] == pytest.approx([r.af_probability for r in alone])


def test_noise_and_a_flat_line_are_unreadable(classifier):
    # 30 s of white noise (0.3 mV) at 300 Hz: the model calls it noise and the quality check
    # fails; a flat line has no beat: noise, "too few beats", no heart rate.
    rng = np.random.default_rng(0)
    noise = service.classify_signal(0.3 * rng.standard_normal(9000), 300.0, classifier=classifier)
    assert noise.rhythm == "~" and not noise.quality.readable
    flat = service.classify_signal(np.zeros(9000), 300.0, classifier=classifier)
    assert flat.rhythm == "~" and flat.heart_rate_bpm is None
    assert flat.quality.problem is not None and "too few beats" in flat.quality.problem
