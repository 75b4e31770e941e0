"""Aberration-detection methods by name, run over a parsed weekly series.

Each method keeps R `surveillance` 1.20.3's control names and defaults (see ears.py, cusum.py and
farrington.py); the farrington methods are imported only when used.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from songkhoe.surveillance.cusum import algo_cusum
from songkhoe.surveillance.ears import ears_c, ears_max_lag
from songkhoe.surveillance.models import WEEKS_PER_YEAR, DetectorResult
from songkhoe.surveillance.series import WeeklySeries

Runner = Callable[[np.ndarray, np.ndarray, int, dict[str, Any]], DetectorResult]


class DetectError(ValueError):
    """A method cannot run on this input with these settings."""


@dataclass(frozen=True, slots=True)
class Method:
    """A detector: how to run it, its default first evaluated week (None: there is none, as
    for R's algo.cusum whose `range` is required) and the control names the CLI may set."""

    run: Runner
    default_first: Callable[[dict[str, Any]], int | None]
    options: frozenset[str]


def _ears(letter: str) -> Method:
    def run(counts: np.ndarray, _dates: np.ndarray, first: int, control: dict) -> DetectorResult:
        return ears_c(counts, first=first, method=letter, **control)

    return Method(
        run=run,
        default_first=lambda control: ears_max_lag(letter, control.get("baseline", 7)),
        options=frozenset({"alpha"}),
    )


def _cusum(counts: np.ndarray, _dates: np.ndarray, first: int, control: dict) -> DetectorResult:
    return algo_cusum(counts, first=first, **control)


def _algo_farrington(
    counts: np.ndarray, dates: np.ndarray, first: int, control: dict
) -> DetectorResult:
    from songkhoe.surveillance.farrington import algo_farrington

    return algo_farrington(counts, dates, first=first, **control)


def _farrington_flexible(
    counts: np.ndarray, dates: np.ndarray, first: int, control: dict
) -> DetectorResult:
    from songkhoe.surveillance.farrington import farrington_flexible

    return farrington_flexible(counts, dates, first=first, **control)


def _noufaily_control(control: dict[str, Any]) -> dict[str, Any]:
    from songkhoe.surveillance.farrington import NOUFAILY_PRESET

    return {**NOUFAILY_PRESET, **control}


def _noufaily(counts: np.ndarray, dates: np.ndarray, first: int, control: dict) -> DetectorResult:
    return _farrington_flexible(counts, dates, first, _noufaily_control(control))


def _farrington_first(control: dict[str, Any]) -> int:
    """R farringtonFlexible's default range start, freq*b + w + 1 (1-based); b=5, w=3 by default."""
    return WEEKS_PER_YEAR * control.get("b", 5) + control.get("w", 3)


_FARRINGTON_OPTIONS = frozenset({"alpha", "b", "w"})
_FLEXIBLE_OPTIONS = _FARRINGTON_OPTIONS | {"population_offset"}

METHODS: dict[str, Method] = {
    "ears-c1": _ears("C1"),
    "ears-c2": _ears("C2"),
    "ears-c3": _ears("C3"),
    "farrington": Method(_algo_farrington, _farrington_first, _FARRINGTON_OPTIONS),
    "farrington-flexible": Method(_farrington_flexible, _farrington_first, _FLEXIBLE_OPTIONS),
    "noufaily": Method(
        _noufaily,
        lambda control: _farrington_first(_noufaily_control(control)),
        _FLEXIBLE_OPTIONS,
    ),
    "cusum": Method(_cusum, lambda _control: None, frozenset()),
}


def week_index(series: WeeklySeries, day: date) -> int:
    """The index of the week starting on `day`; DetectError if it is not one of the series'."""
    hits = np.flatnonzero(series.dates == np.datetime64(day, "D"))
    if not hits.size:
        raise DetectError(
            f"--from {day} is not one of the weeks of the input "
            f"({series.dates[0]} to {series.dates[-1]}, every 7 days)"
        )
    return int(hits[0])


def detect(
    series: WeeklySeries, method: str, *, first: int | None = None, **control: Any
) -> DetectorResult:
    """Run `method` (a key of METHODS) on every unit of `series` from week index `first`
    (default: the method's first week with enough history) to the end; `control` holds the
    method's control parameters (R names, snake_case). With ``population_offset=True``
    (farringtonFlexible's ``populationOffset``) the series' population is the offset."""
    if method not in METHODS:
        raise DetectError(f"unknown method {method!r} (one of {', '.join(METHODS)})")
    spec = METHODS[method]
    if first is None:
        first = spec.default_first(control)
        if first is None:
            raise DetectError(
                f"{method} needs --from: R's algo.cusum has no default range; the weeks before "
                "it are the reference period for m"
            )
    n_weeks = series.dates.size
    if first >= n_weeks:
        raise DetectError(
            f"{method} needs {first} weeks of history before its first evaluated week, "
            f"the input has {n_weeks} weeks"
        )
    if control.get("population_offset"):
        if series.population is None:
            raise DetectError(f"{method}: the population offset needs a population column")
        control = {**control, "population": series.population}
    try:
        return spec.run(series.counts, series.dates, first, control)
    except ValueError as exc:
        raise DetectError(f"{method}: {exc}") from None
