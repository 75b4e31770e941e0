"""The NCD figures of the managers' pages, aggregates only: the dashboard's indicators of a place
for a month with their 12-month history, and the rates by area that the disease map colours.

Both use the definitions of `songkhoe.ncd.indicators` (Simple.org). The map's rates are counted
per commune in SQL over the NCD projections (`area_counts`) and cached per (rate, areas, month,
projections' moment): a refresh changes the moment, so nothing stale is served.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from sqlalchemy import Engine

from songkhoe.ncd import indicators as ncd
from songkhoe.ncd import projections as proj

TREND_MONTHS = 12
Areas = Mapping[str, Sequence[str]]
# The map's NCD indicators: (key, rate of songkhoe.ncd.indicators.AREA_RATES), in menu order.
MAP_RATES = (
    ("htn_prevalence", "htn_prevalence"),
    ("bp_control", "htn_control"),
    ("checkup_coverage", "checkup_coverage"),
    ("high_cvd_risk", "high_cvd_risk"),
)


def projections_month(engine: Engine) -> str:
    """The month the projections were built in (Vietnam's time), else the current month."""
    with engine.connect() as conn:
        as_of = proj.refreshed_as_of(conn)
    moment = np.datetime64(as_of[:19]) if as_of else np.datetime64(datetime.now(UTC).date())
    return str(
        proj.local_month(np.array([moment], dtype="datetime64[s]")).astype("datetime64[M]")[0]
    )


def months_back(month: str, count: int) -> list[str]:
    """The `count` months up to `month` (YYYY-MM), oldest first."""
    last = np.datetime64(month, "M")
    return [str(last - i) for i in range(count - 1, -1, -1)]


@dataclass(frozen=True, slots=True)
class Dashboard:
    """`rows`: the place's indicators for the month, then (a province) one row per commune;
    `history`: the place's row for each of `months`; `as_of`: the projections' moment."""

    rows: list[dict]
    months: list[str]
    history: list[dict]
    as_of: str | None


def dashboard(engine: Engine, place: tuple[str, str], covered: list[str], month: str) -> Dashboard:
    """The dashboard of a place (kind, code) whose communes are `covered`, for a month
    (YYYY-MM; InvalidMonth otherwise), with the `TREND_MONTHS` months up to it."""
    ncd.parse_month(month)
    with engine.connect() as conn:
        cohort = ncd.load(conn, covered)
        as_of = proj.refreshed_as_of(conn)
    rows = ncd.table(cohort, month, place=place, by_commune=place[0] == "province")
    months = months_back(month, TREND_MONTHS)
    history = [ncd.table(cohort, m, place=place, by_commune=False)[0] for m in months]
    return Dashboard(rows, months, history, as_of)


def area_rate(rate: str) -> Callable[[Engine, Areas, str], dict[str, float | None]]:
    """The percentage of a rate of `songkhoe.ncd.indicators.AREA_RATES` in each area of a month:
    its communes' numerators over their denominators, None without a denominator. The function
    raises InvalidMonth (a ValueError)."""

    def compute(engine: Engine, areas: Areas, month: str) -> dict[str, float | None]:
        ncd.parse_month(month)
        with engine.connect() as conn:
            as_of = proj.refreshed_as_of(conn)
        return dict(
            _rates(engine, rate, tuple((a, tuple(c)) for a, c in areas.items()), month, as_of)
        )

    return compute


@lru_cache(maxsize=64)  # thread-safe: the server's threads share it
def _rates(
    engine: Engine,
    rate: str,
    areas: tuple[tuple[str, tuple[str, ...]], ...],
    month: str,
    _as_of: str | None,
) -> tuple[tuple[str, float | None], ...]:
    """(area, percentage) of a rate in each area, as the projections of moment `_as_of` give
    it (the moment is part of the cache key: a refresh makes new entries)."""
    with engine.connect() as conn:
        counts = ncd.area_counts(conn, [c for _, cs in areas for c in cs], month, rate)
    return tuple((a, _percent(counts, cs)) for a, cs in areas)


def _percent(counts: Mapping[str, tuple[int, int]], communes: Sequence[str]) -> float | None:
    numerator = sum(counts.get(c, (0, 0))[0] for c in communes)
    denominator = sum(counts.get(c, (0, 0))[1] for c in communes)
    return round(100 * numerator / denominator, 1) if denominator else None
