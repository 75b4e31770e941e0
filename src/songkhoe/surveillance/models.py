"""What every aberration detector returns."""

from dataclasses import dataclass

import numpy as np

WEEKS_PER_YEAR = 52  # the `freq` of a weekly sts in R


@dataclass(frozen=True, slots=True)
class DetectorResult:
    """Upper bounds and alarms for the evaluated weeks of one or many series.

    Arrays have the shape of the evaluated block: (n_series, n_evaluated) for many series, or
    (n_evaluated,) for one. `alarm` is 1 (alarm), 0 (no alarm) or -1 where the method cannot
    decide (R's NA); `upperbound` is NaN where R's is NA, which for farringtonFlexible's
    too-few-recent-cases rule (limit54) comes with a decided "no alarm", as in R. `first` is the
    index, in the input weeks, of the first evaluated week.
    """

    upperbound: np.ndarray
    alarm: np.ndarray  # int8: 1 alarm, 0 no alarm, -1 undecided (NA in R)
    first: int
