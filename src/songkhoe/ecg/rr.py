"""Features of a series of RR intervals (seconds), shared by the rhythm classifier and the
RR-only AF windows: rate, median, spread and extremes, and published measures of irregularity:

- RMSSD normalised by the mean RR, turning point ratio and Shannon entropy of the RR histogram
  (Dash et al. 2009, Ann Biomed Eng 37:1701-1709, "Automatic real time detection of atrial
  fibrillation");
- sample entropy (Richman & Moorman 2000, Am J Physiol Heart Circ Physiol 278:H2039-H2049;
  m = 1, r = 30 ms fixed) and a simplified coefficient of sample entropy, SampEn - ln(mean RR)
  (Lake & Moorman 2011, Am J Physiol Heart Circ Physiol 300:H319-H325, let r vary until enough
  matches are found and add ln(2r) to make a density; with r fixed that term is a constant,
  left out);
- Poincaré SD1, SD2 (Brennan et al. 2001, IEEE TBME 48:1342-1347);
- the share of successive differences above 50 ms (pNN50, Task Force 1996) and of relative
  differences above 15 %;
- the share of intervals shorter than 80 % of the median, and of a short (< 85 %) interval
  followed by a long (> 115 %) one: premature beats and their compensatory pauses;
- the occupancy of the ΔRR scatter plot in 40-ms cells (the Lorenz-plot idea of Sarkar et al.
  2008, IEEE TBME 55:1219-1224, reduced here to the share of distinct cells).

With fewer than 4 intervals the irregularity features are NaN.
"""

import numpy as np

RR_FEATURES = (
    "hr_bpm", "rr_median", "rr_cv", "rr_min_rel", "rr_max_rel", "rr_iqr_rel", "rmssd",
    "nrmssd", "pnn50", "rel_diff_15", "rel_diff_mean", "tpr", "shannon", "sampen", "cosen",
    "sd1_rel", "sd2_rel", "sd_ratio", "lorenz_cells", "short_long", "rr_max_s", "short_share",
)  # fmt: skip
SAMPEN_TOLERANCE_S = 0.03
LORENZ_CELL_S = 0.04


def sample_entropy(series: np.ndarray, tolerance: float, m: int = 1) -> float:
    """SampEn(m, r) = -ln(A / B): B pairs of templates of length m within r (Chebyshev), A of
    length m + 1 (Richman & Moorman 2000); NaN when no pair of length m + 1 matches."""
    n = series.size
    if n <= m + 1:
        return float("nan")

    def pairs(length: int) -> int:
        windows = np.lib.stride_tricks.sliding_window_view(series[: n - m + length - 1], length)
        far = np.abs(windows[:, None, :] - windows[None, :, :]).max(axis=2)
        return int((np.triu(far <= tolerance, k=1)).sum())

    b, a = pairs(m), pairs(m + 1)
    if a == 0 or b == 0:
        return float("nan")
    return float(-np.log(a / b))


def _shannon(rr: np.ndarray) -> float:
    """Dash 2009: entropy of the RR histogram in 16 equal bins, over ln(1/16)."""
    counts, _ = np.histogram(rr, bins=16)
    p = counts[counts > 0] / rr.size
    return float(-(p * np.log(p)).sum() / np.log(16))


def rr_features(rr: np.ndarray) -> np.ndarray:
    """The RR_FEATURES of a series of RR intervals in seconds."""
    out = np.full(len(RR_FEATURES), np.nan)
    if rr.size == 0:
        return out
    median = float(np.median(rr))
    out[0] = 60.0 / float(rr.mean())
    out[1] = median
    out[20] = float(rr.max())
    if rr.size < 4:
        return out
    mean = float(rr.mean())
    diff = np.diff(rr)
    rel = np.abs(diff) / rr[:-1]
    q1, q3 = np.percentile(rr, [25, 75])
    middle = rr[1:-1]
    turning = ((middle > rr[:-2]) & (middle > rr[2:])) | ((middle < rr[:-2]) & (middle < rr[2:]))
    rmssd = float(np.sqrt(np.mean(diff**2)))
    sd1 = float(np.std(diff) / np.sqrt(2))
    sd2 = float(np.sqrt(max(2 * np.var(rr) - sd1**2, 0.0)))
    sampen = sample_entropy(rr, SAMPEN_TOLERANCE_S)
    cells = np.floor(np.column_stack((diff[:-1], diff[1:])) / LORENZ_CELL_S)
    short = rr < 0.85 * median
    out[2:20] = (
        float(rr.std()) / mean,
        float(rr.min()) / median,
        float(rr.max()) / median,
        float(q3 - q1) / median,
        rmssd,
        rmssd / mean,
        float(np.mean(np.abs(diff) > 0.05)),
        float(np.mean(rel > 0.15)),
        float(rel.mean()),
        float(turning.mean()),
        _shannon(rr),
        sampen,
        sampen - np.log(mean) if np.isfinite(sampen) else np.nan,
        sd1 / mean,
        sd2 / mean,
        sd1 / sd2 if sd2 > 0 else np.nan,
        len({tuple(c) for c in cells}) / max(len(cells), 1),
        float(np.mean(short[:-1] & (rr[1:] > 1.15 * median))),
    )
    out[21] = float(np.mean(rr < 0.8 * median))
    return out
