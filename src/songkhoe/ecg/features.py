"""The feature vector of one lead at 300 Hz, the rhythm classifier's input: RR irregularity
(`rr.py`), the median beat and the beats' agreement with it, the P wave, atrial activity after
cancelling the QRST complexes, and signal quality.

- Beats are cut from -0.25 s to +0.45 s around each R-peak; the median beat is the template
  (Orphanidou et al. 2015, IEEE JBHI 19:832-838, whose quality index is the mean correlation of
  the beats with it; 0.66 is their threshold for a readable recording); the shares of beats
  correlating below 0.8 and 0.9 (ectopic or noisy beats).
- The P wave is looked for from -0.25 s to -0.08 s before the R-peak: its amplitude in the
  template relative to the R wave, the time of its largest deflection before the R-peak (about
  the PR interval), and its coherence (the template's P energy over the beats'
  mean P energy; fibrillatory waves do not add up across beats, sinus P waves do).
- Atrial activity: the signal with the template subtracted at every beat (average beat
  subtraction, Slocum et al. 1992, J Electrocardiol 25:1-8); the share of its power in
  4-10 Hz and the frequency of its spectral peak there (the f-wave band of AF, Bollmann et al.
  2006, Europace 8:911-926).
- Noise: the share of signal power per band, kurtosis, the spread of 1-s segment amplitudes,
  flat and clipped samples, and the agreement of the R-peaks with a second, simpler detector
  (the bSQI idea of Li, Mark & Clifford 2008, Physiol Meas 29:15-32).
"""

import numpy as np
from scipy.signal import find_peaks, welch
from scipy.stats import kurtosis, skew

from songkhoe.ecg.peaks import bandpass, match_beats, r_peaks
from songkhoe.ecg.rr import RR_FEATURES, rr_features

FS = 300.0
BEFORE_S, AFTER_S = 0.25, 0.45
P_WINDOW_S = (-0.25, -0.08)
TEMPLATE_POINTS = 28  # the template every 25 ms, -0.25 s to +0.425 s (the R-peak is the 11th)
BANDS_HZ = ((0.0, 1.0), (1.0, 5.0), (5.0, 15.0), (15.0, 40.0), (40.0, 150.0))
BEAT_FEATURES = (
    "beats_per_s", "corr_mean", "corr_std", "corr_low", "r_amp_mv", "r_amp_cv", "p_amp_rel",
    "p_coherence", "p_corr", "qrs_width_s", "t_amp_rel", "inverted", "aa_power_4_10",
    "aa_peak_hz", "aa_rel_power", "corr_low_09", "p_peak_s",
)  # fmt: skip
SIGNAL_FEATURES = (
    "band_0_1", "band_1_5", "band_5_15", "band_15_40", "band_40_150", "kurtosis", "skewness",
    "seg_amp_spread", "seg_amp_max_rel", "flat_share", "clip_share", "detector_agreement",
    "amp_range_mv",
)  # fmt: skip
FEATURES = (
    RR_FEATURES
    + BEAT_FEATURES
    + SIGNAL_FEATURES
    + tuple(f"tpl_{i:02d}" for i in range(TEMPLATE_POINTS))
)


def beats_matrix(x: np.ndarray, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(beats, the peaks they are cut at): windows -0.25..+0.45 s wholly inside the signal."""
    before, after = int(BEFORE_S * FS), int(AFTER_S * FS)
    inside = peaks[(peaks >= before) & (peaks + after <= x.size)]
    if inside.size == 0:
        return np.zeros((0, before + after)), inside
    index = inside[:, None] + np.arange(-before, after)[None, :]
    return x[index], inside


def _correlations(beats: np.ndarray, template: np.ndarray) -> np.ndarray:
    b = beats - beats.mean(axis=1, keepdims=True)
    t = template - template.mean()
    denominator = np.sqrt((b**2).sum(axis=1) * (t**2).sum()) + 1e-12
    return (b @ t) / denominator


def _beat_features(x: np.ndarray, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(len(BEAT_FEATURES), np.nan)
    template_points = np.full(TEMPLATE_POINTS, np.nan)
    out[0] = peaks.size / (x.size / FS)
    beats, inside = beats_matrix(x, peaks)
    if beats.shape[0] < 3:
        return out, template_points
    before = int(BEFORE_S * FS)
    template = np.median(beats, axis=0)
    r_value = template[before]
    sign = 1.0 if r_value >= 0 else -1.0
    baseline = np.median(template[: int(0.05 * FS)])
    amplitude = abs(r_value - baseline) + 1e-6
    corr = _correlations(beats, template)
    r_amps = np.abs(beats[:, before] - np.median(beats[:, : int(0.05 * FS)], axis=1))
    p0, p1 = (before + int(s * FS) for s in P_WINDOW_S)
    p_template = template[p0:p1] - template[p0:p1].mean()
    p_beats = beats[:, p0:p1] - beats[:, p0:p1].mean(axis=1, keepdims=True)
    p_energy = float((p_beats**2).sum(axis=1).mean()) + 1e-12
    above_half = np.abs(template - baseline) >= 0.5 * amplitude
    left = before - int(np.argmin(above_half[before::-1])) if not above_half.all() else 0
    right = before + int(np.argmin(above_half[before:]))
    t0, t1 = before + int(0.15 * FS), template.size
    out[1:12] = (
        float(corr.mean()),
        float(corr.std()),
        float(np.mean(corr < 0.8)),
        float(np.median(r_amps)),
        float(r_amps.std() / (r_amps.mean() + 1e-6)),
        float(np.ptp(template[p0:p1]) / amplitude),
        float((p_template**2).sum() / p_energy),
        float(np.mean(_correlations(p_beats, p_template))),
        (right - left) / FS,
        float(np.ptp(template[t0:t1]) / amplitude),
        float(sign < 0),
    )
    out[12:15] = _atrial_activity(x, inside, template)
    out[15] = float(np.mean(corr < 0.9))
    out[16] = (p0 + int(np.argmax(np.abs(p_template))) - before) / FS
    points = before + np.round((np.arange(TEMPLATE_POINTS) - 10) * 0.025 * FS).astype(int)
    template_points[:] = sign * (template[points] - baseline) / amplitude
    return out, template_points


def _atrial_activity(x: np.ndarray, peaks: np.ndarray, template: np.ndarray) -> tuple:
    """Share of the residual's power in 4-10 Hz, its peak frequency there, and the residual's
    power relative to the signal's, after subtracting the template at every beat."""
    before = int(BEFORE_S * FS)
    residual = x.copy()
    index = peaks[:, None] + np.arange(-before, template.size - before)[None, :]
    residual[index] -= template[None, :]
    freqs, power = welch(residual, fs=FS, nperseg=min(1024, residual.size))
    total = float(power[(freqs >= 1) & (freqs <= 40)].sum()) + 1e-12
    band = (freqs >= 4) & (freqs <= 10)
    peak_hz = float(freqs[band][np.argmax(power[band])])
    return (
        float(power[band].sum()) / total,
        peak_hz,
        float(residual.var() / (x.var() + 1e-12)),
    )


def _signal_features(raw: np.ndarray, x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    out = np.full(len(SIGNAL_FEATURES), np.nan)
    centred = raw - raw.mean()
    freqs, power = welch(centred, fs=FS, nperseg=min(1024, centred.size))
    total = float(power.sum()) + 1e-12
    for i, (low, high) in enumerate(BANDS_HZ):
        out[i] = float(power[(freqs >= low) & (freqs < high)].sum()) / total
    seconds = x.size // int(FS)
    segments = x[: seconds * int(FS)].reshape(seconds, int(FS))
    amps = np.ptp(segments, axis=1)
    median_amp = float(np.median(amps)) + 1e-9
    flat = np.abs(np.diff(raw)) < 1e-9
    extremes = (raw >= raw.max() - 1e-9) | (raw <= raw.min() + 1e-9)
    simple, _ = find_peaks(np.abs(x), distance=int(0.25 * FS), height=0.5 * np.percentile(amps, 50))
    tp, fn, fp = match_beats(peaks, simple, int(0.15 * FS))
    out[5:13] = (
        float(kurtosis(x)),
        float(skew(x)),
        float(np.std(amps) / median_amp),
        float(amps.max() / median_amp),
        float(flat.mean()),
        float(extremes.mean()),
        tp / max(tp + fn + fp, 1),
        float(np.ptp(x)),
    )
    return out


def features(lead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The FEATURES of one lead at 300 Hz (float32, NaN where a feature does not apply) and
    its R-peaks (sample indices)."""
    x = bandpass(lead, FS)
    peaks = r_peaks(x, FS, filtered=True)
    rr = np.diff(peaks) / FS
    beat, template = _beat_features(x, peaks)
    vector = np.concatenate((rr_features(rr), beat, _signal_features(lead, x, peaks), template))
    return vector.astype(np.float32), peaks
