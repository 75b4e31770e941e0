"""Classifying recordings: the analysis lead at 300 Hz, its first 60 s (the Challenge 2017
recordings the model learnt from last 9 to 61 s; longer recordings go to the RR-only windows),
features, the shipped model through ONNX Runtime, the signal-quality check. A recording with
fewer than three whole beats (a flat line, a lead off) holds no rhythm to classify: it is `~`
whatever the model says."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from songkhoe.ecg.features import FEATURES, FS, features
from songkhoe.ecg.ingest import Recording
from songkhoe.ecg.model import RhythmModel
from songkhoe.ecg.quality import Quality, quality

ANALYSED_S = 60.0
RHYTHM_NAMES = {
    "N": "Nhịp xoang bình thường / Normal sinus rhythm",
    "A": "Rung nhĩ / Atrial fibrillation",
    "O": "Nhịp khác / Other rhythm",
    "~": "Nhiễu, không đọc được / Too noisy to classify",
}


@dataclass(frozen=True, slots=True)
class Rhythm:
    """What the model proposes for one recording (a clinician confirms)."""

    record: str
    rhythm: str  # N, A, O or ~
    probabilities: dict[str, float]
    af_probability: float
    heart_rate_bpm: float | None  # None with fewer than two beats
    quality: Quality
    lead: str
    analysed_s: float
    r_peaks_s: np.ndarray  # R-peak times in the analysed part, seconds from its start
    model: str


def calls(model: RhythmModel, rows: np.ndarray, probabilities: np.ndarray) -> list[str]:
    """The rhythm of each feature row: the model's decision, `~` with fewer than three whole
    beats (no beat template, so no correlation with it)."""
    few_beats = ~np.isfinite(rows[:, FEATURES.index("corr_mean")])
    decided = model.decide(probabilities)
    return ["~" if few else call for call, few in zip(decided, few_beats, strict=True)]


class Classifier:
    """The shipped model, loaded (and checked) once."""

    def __init__(self, model: RhythmModel | None = None) -> None:
        self.model = model or RhythmModel.load()

    def prepare(self, recording: Recording) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(analysis lead, feature row, R-peaks) of a recording."""
        lead = recording.analysis_lead(ANALYSED_S)
        row, peaks = features(lead)
        return lead, row, peaks

    def classify(self, recordings: Sequence[Recording]) -> list[Rhythm]:
        prepared = [self.prepare(r) for r in recordings]
        if not prepared:
            return []
        rows = np.stack([row for _, row, _ in prepared])
        probabilities = self.model.probabilities(rows)
        decided = calls(self.model, rows, probabilities)
        hr_column = FEATURES.index("hr_bpm")
        found = []
        for i, recording in enumerate(recordings):
            lead, row, peaks = prepared[i]
            p = {c: float(v) for c, v in zip(self.model.classes, probabilities[i], strict=True)}
            hr = float(row[hr_column])
            found.append(
                Rhythm(
                    record=recording.name,
                    rhythm=decided[i],
                    probabilities=p,
                    af_probability=p["A"],
                    heart_rate_bpm=round(hr, 1) if np.isfinite(hr) else None,
                    quality=quality(row),
                    lead=recording.leads[recording.lead_index()],
                    analysed_s=lead.size / FS,
                    r_peaks_s=peaks / FS,
                    model=self.model.name,
                )
            )
        return found
