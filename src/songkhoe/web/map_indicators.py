"""What the disease map can colour: a registry of indicators by area.

A domain registers a `MapIndicator` with `register`; the map page lists every registered one.
`compute(engine, areas, period)` gets the areas to colour as {area code: the commune codes it
covers} (each commune on its own for a province's commune map; each province with all its
communes for the national map) and a period (`YYYY-MM` for monthly indicators, `YYYY-Www` ISO
weeks for weekly ones) and returns {area code: value or None (no data)}. The NCD domain registers
its monthly rates here (songkhoe.ncd.views), the surveillance domain the weekly incidence of
notifiable diseases (period "week").
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

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
