"""R-peak detection against reference beat annotations (AAMI EC57: a detected beat matches a
reference beat within 150 ms; sensitivity and positive predictivity >= 0.995), and the beat
matcher on a hand-worked example."""

import numpy as np
import pytest
import wfdb

from songkhoe.ecg.peaks import match_beats, r_peaks

# The beat labels of the WFDB annotation codes (PhysioNet, "ecgcodes"); rhythm, noise and
# comment annotations are not beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


@pytest.mark.parametrize("record", ["100", "101", "0001", "0201"])
def test_detection_meets_aami_ec57(beat_records, record):
    base = beat_records[record]
    signal = wfdb.rdrecord(str(base), channels=[0])
    notes = wfdb.rdann(str(base), "atr")
    reference = np.array([s for s, c in zip(notes.sample, notes.symbol, strict=True)
                          if c in BEAT_SYMBOLS])  # fmt: skip
    fs = float(signal.fs)
    detected = r_peaks(signal.p_signal[:, 0], fs)
    tolerance = int(0.150 * fs)
    # The AHA records are annotated in their last 30 minutes only: score that span.
    span = (detected >= reference[0] - tolerance) & (detected <= reference[-1] + tolerance)
    tp, fn, fp = match_beats(reference, detected[span], tolerance)
    assert tp / (tp + fn) >= 0.995, (record, tp, fn)
    assert tp / (tp + fp) >= 0.995, (record, tp, fp)


def test_match_beats_counts_each_beat_once():
    # Reference beats at 100, 400, 700 samples; detections at 110 (matches 100), 395 and 405
    # (both near 400: one matches, the other is a false positive), none near 700, and 1000.
    # TP = 2 (100, 400), FN = 1 (700), FP = 2 (the spare of 395/405, and 1000).
    assert match_beats(np.array([100, 400, 700]), np.array([110, 395, 405, 1000]), 54) == (2, 1, 2)


def test_regular_synthetic_beats_are_all_found():
    # Gaussian "R waves" (10 ms wide, 1 mV) every 0.8 s over 20 s at 500 Hz: 25 beats, at
    # samples 200, 600, ..., 9800; each must be found within 2 samples.
    fs = 500.0
    t = np.arange(int(20 * fs)) / fs
    beats = np.arange(0.4, 20, 0.8)
    signal = sum(np.exp(-0.5 * ((t - b) / 0.01) ** 2) for b in beats)
    found = r_peaks(signal, fs)
    assert found.size == 25
    assert np.abs(found - np.round(beats * fs)).max() <= 2
