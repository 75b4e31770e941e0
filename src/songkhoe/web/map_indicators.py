"""What the disease map can colour: a registry of indicators by area.

A domain registers a `MapIndicator` with `register`; the map page lists every registered one.
`compute(engine, areas, period)` gets the areas to colour as {area code: the commune codes it
covers} (each commune on its own for a province's commune map; each province with all its
communes for the national map) and a period (`YYYY-MM` for monthly indicators, `YYYY-Www` ISO
weeks for weekly ones) and returns {area code: value or None (no data)}. The surveillance domain
registers the weekly incidence of notifiable diseases here (period "week").

The NCD indicators are registered below, counted per commune in SQL over the NCD projections with
the definitions of `songkhoe.ncd.indicators` (Simple.org; `area_counts`), and cached per
(indicator, areas, period, projections' moment): a refresh changes the moment, so nothing stale
is served.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from sqlalchemy import Engine

from songkhoe.ncd import indicators as ncd
from songkhoe.ncd import projections as proj
from songkhoe.web.i18n import register as register_text

Areas = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class MapIndicator:
    """`label_key`: interface text (register it with songkhoe.web.i18n); `unit`: shown after
    values ("%", "/100.000"); `period`: "month" or "week"; `default_period(engine)` the period
    the map opens at."""

    key: str
    label_key: str
    unit: str
    period: str
    compute: Callable[[Engine, Areas, str], dict[str, float | None]]
    default_period: Callable[[Engine], str]
    order: int = 100


INDICATORS: dict[str, MapIndicator] = {}


def register(indicator: MapIndicator) -> None:
    """Add an indicator to the map (a key is registered once)."""
    INDICATORS.setdefault(indicator.key, indicator)


def registered() -> list[MapIndicator]:
    return sorted(INDICATORS.values(), key=lambda i: (i.order, i.key))


# --- NCD indicators --------------------------------------------------------------------------

register_text(
    {
        "map_htn_prevalence": (
            "Tỷ lệ tăng huyết áp đã chẩn đoán (người lớn)",
            "Diagnosed hypertension (adults)",
        ),
        "map_bp_control": ("Tỷ lệ kiểm soát huyết áp", "Blood pressure control"),
        "map_checkup_coverage": (
            "Tỷ lệ khám sức khỏe định kỳ 12 tháng",
            "Check-up coverage, 12 months",
        ),
        "map_high_cvd_risk": ("Tỷ lệ nguy cơ tim mạch cao (≥ 20%)", "High CVD risk (≥ 20%)"),
    }
)


def projections_month(engine: Engine) -> str:
    """The month the projections were built in (Vietnam's time), else the current month."""
    with engine.connect() as conn:
        as_of = proj.refreshed_as_of(conn)
    moment = np.datetime64(as_of[:19]) if as_of else np.datetime64(datetime.now(UTC).date())
    return str(
        proj.local_month(np.array([moment], dtype="datetime64[s]")).astype("datetime64[M]")[0]
    )


def _counted(rate: str) -> Callable[[Engine, Areas, str], dict[str, float | None]]:
    """The percentage of a rate of `songkhoe.ncd.indicators.AREA_RATES` in each area: its
    communes' numerators over their denominators, counted in SQL."""

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


for _order, (_key, _rate) in enumerate(
    (
        ("htn_prevalence", "htn_prevalence"),
        ("bp_control", "htn_control"),
        ("checkup_coverage", "checkup_coverage"),
        ("high_cvd_risk", "high_cvd_risk"),
    )
):
    register(
        MapIndicator(_key, f"map_{_key}", "%", "month", _counted(_rate), projections_month, _order)
    )
