"""What the disease map can colour: a registry of indicators by area.

A domain registers a `MapIndicator` with `register`; the map page lists every registered one.
`compute(engine, areas, period)` gets the areas to colour as {area code: the commune codes it
covers} (each commune on its own for a province's commune map; each province with all its
communes for the national map) and a period (`YYYY-MM` for monthly indicators, `YYYY-Www` ISO
weeks for weekly ones) and returns {area code: value or None (no data)}. The surveillance domain
registers the weekly incidence of notifiable diseases here (period "week").

The NCD indicators are registered below, computed over the NCD projections with the definitions
of `songkhoe.ncd.indicators` (Simple.org) and results cached per (indicator, areas, period,
projections' moment): a refresh changes the moment, so nothing stale is served.
"""

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import Engine

from songkhoe.db.tables import ncd_risk
from songkhoe.ncd import indicators as ncd
from songkhoe.ncd import projections as proj
from songkhoe.ncd.worklists import HIGH_RISK_BANDS
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

_CACHE: OrderedDict[tuple, dict[str, float | None]] = OrderedDict()
_CACHE_SIZE = 64


def projections_month(engine: Engine) -> str:
    """The month the projections were built in (Vietnam's time), else the current month."""
    with engine.connect() as conn:
        as_of = proj.refreshed_as_of(conn)
    moment = np.datetime64(as_of[:19]) if as_of else np.datetime64(datetime.now(UTC).date())
    return str(
        proj.local_month(np.array([moment], dtype="datetime64[s]")).astype("datetime64[M]")[0]
    )


_COHORTS: OrderedDict[tuple, ncd.Cohort] = OrderedDict()


def _cohort(conn, codes: tuple[str, ...]) -> ncd.Cohort:
    """The projection arrays of these communes, shared by the NCD indicators until the next
    refresh (at most two sets kept: a province's communes and the whole country)."""
    key = (codes, proj.refreshed_as_of(conn))
    if key not in _COHORTS:
        _COHORTS[key] = ncd.load(conn, list(codes))
        while len(_COHORTS) > 2:
            _COHORTS.popitem(last=False)
    _COHORTS.move_to_end(key)
    return _COHORTS[key]


def _grouped(
    areas: Areas, month: str, rate: Callable[[ncd.Cohort, int], tuple[np.ndarray, np.ndarray]]
) -> Callable[[Engine], dict[str, float | None]]:
    def run(engine: Engine) -> dict[str, float | None]:
        codes = [c for cs in areas.values() for c in cs]
        area_of = {c: a for a, cs in areas.items() for c in cs}
        keys = list(areas)
        slot = {a: i for i, a in enumerate(keys)}
        with engine.connect() as conn:
            cohort = _cohort(conn, tuple(codes))
            numerator, denominator = rate(cohort, ncd.parse_month(month), conn)
        group = np.array([slot[area_of[c]] for c in cohort.people.communes], dtype=np.int64)
        person_group = group[cohort.people.commune]
        num = np.bincount(person_group[numerator], minlength=len(keys))
        den = np.bincount(person_group[denominator], minlength=len(keys))
        return {
            a: (round(100 * float(num[i]) / float(den[i]), 1) if den[i] else None)
            for a, i in slot.items()
        }

    return run


def _states(numerator: str, denominator: str):
    def rate(cohort: ncd.Cohort, month: int, _conn) -> tuple[np.ndarray, np.ndarray]:
        states = ncd.person_states(cohort, month)
        return states[numerator], states[denominator]

    return rate


def _high_risk(cohort: ncd.Cohort, month: int, conn) -> tuple[np.ndarray, np.ndarray]:
    """Among living people with a WHO CVD risk assessed by the end of the month, those whose
    latest band is >= 20%."""
    rows = cohort.people.read(conn, ncd_risk, "band", "assessed_at")
    keep = proj.local_month(rows["assessed_at"]) <= month
    n = cohort.people.key.size
    latest = proj.last_per_person(rows["person"][keep], rows["assessed_at"][keep], n)
    band = proj.take(rows["band"][keep], latest, "")
    alive = ~cohort.people.deceased
    assessed = alive & (latest >= 0)
    return assessed & np.isin(band, HIGH_RISK_BANDS), assessed


def _cached(key: str, rate) -> Callable[[Engine, Areas, str], dict[str, float | None]]:
    def compute(engine: Engine, areas: Areas, month: str) -> dict[str, float | None]:
        ncd.parse_month(month)
        with engine.connect() as conn:
            as_of = proj.refreshed_as_of(conn)
        cache_key = (key, tuple((a, tuple(c)) for a, c in areas.items()), month, as_of)
        if cache_key not in _CACHE:
            _CACHE[cache_key] = _grouped(areas, month, rate)(engine)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(cache_key)
        return _CACHE[cache_key]

    return compute


for _order, (_key, _rate) in enumerate(
    (
        ("htn_prevalence", _states("htn_registered", "adults")),
        ("bp_control", _states("htn_controlled", "htn_denominator")),
        ("checkup_coverage", _states("checkup_12m", "adults")),
        ("high_cvd_risk", _high_risk),
    )
):
    register(
        MapIndicator(
            _key, f"map_{_key}", "%", "month", _cached(_key, _rate), projections_month, order=_order
        )
    )


def current_week() -> str:
    """The ISO week of today (for weekly indicators' default)."""
    year, week, _ = date.today().isocalendar()
    return f"{year}-W{week:02d}"
