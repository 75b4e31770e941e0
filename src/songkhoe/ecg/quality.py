"""Is the recording readable? The rules of Orphanidou et al. 2015 (IEEE JBHI 19:832-838,
"Signal-quality indices for the electrocardiogram and photoplethysmogram"): heart rate 40 to
180 bpm, no RR interval of 3 s or more, and the beats' mean correlation with the median beat at
least 0.66. Their fourth rule (longest RR over shortest below 2.2) is left out: AF breaks it.
The rhythm classifier has its own noise class (~); this check says which rule failed."""

from dataclasses import dataclass

import numpy as np

from songkhoe.ecg.features import FEATURES

HR_RANGE_BPM = (40.0, 180.0)
MAX_RR_S = 3.0
MIN_CORRELATION = 0.66


@dataclass(frozen=True, slots=True)
class Quality:
    readable: bool
    template_correlation: float  # NaN with fewer than three whole beats
    problem: str | None  # the first rule that failed, in English and Vietnamese


def quality(row: np.ndarray) -> Quality:
    """The check of one feature row (`features.FEATURES`)."""
    hr = float(row[FEATURES.index("hr_bpm")])
    longest = float(row[FEATURES.index("rr_max_s")])
    corr = float(row[FEATURES.index("corr_mean")])
    problem = None
    if not np.isfinite(corr):
        problem = "quá ít nhịp / too few beats"
    elif not HR_RANGE_BPM[0] <= hr <= HR_RANGE_BPM[1]:
        problem = f"nhịp tim {hr:.0f}/phút ngoài 40-180 / heart rate outside 40-180 bpm"
    elif longest >= MAX_RR_S:
        problem = f"khoảng RR {longest:.1f} s ≥ 3 s / an RR interval of 3 s or more"
    elif corr < MIN_CORRELATION:
        problem = "tín hiệu nhiễu (tương quan nhịp < 0,66) / noisy: beats correlate below 0.66"
    return Quality(problem is None, corr, problem)
