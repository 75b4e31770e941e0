"""Case reports counted by ISO week (Monday start, ISO 8601) per commune, province and disease.

A case counts in the week of its onset date and in the commune of its `case-commune` extension
(`cases.py`); refuted and entered-in-error reports do not count. The onset date is the
Vietnamese calendar date: an `onsetDateTime` with a time and offset is converted to
Asia/Ho_Chi_Minh before its date is taken (23:30Z on a Sunday is Monday in Vietnam). A report
that cannot be placed (no `case-commune` or an unknown one, no onset or only a year or month, no
disease code: e.g. a Condition written through /fhir) is counted in `Cases.unplaced`, which the
weekly job, the aggregate command and the pages report. Every week of the requested span
is present, zeros included. The series of the database start at the week of the first case
reported anywhere (when reporting began), so that every commune's series covers the same weeks.

Population for rates: the places catalogue has no population, so it is the number of people
registered with each commune's health station (Patients whose managingOrganization is the
station), the same in every week.
"""

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from songkhoe.fhir.queries import count_referencing, live, tagged
from songkhoe.files import atomic_text_file
from songkhoe.places.catalog import UnknownPlace, commune, communes, province
from songkhoe.places.facilities import commune_station_id
from songkhoe.surveillance.cases import case_commune, counts_as_case
from songkhoe.surveillance.diseases import (
    CATEGORY_CODE,
    CATEGORY_SYSTEM,
    DISEASE_SYSTEM,
    disease_key,
)
from songkhoe.surveillance.diseases import disease as find_disease
from songkhoe.surveillance.series import WeeklySeries
from songkhoe.timezones import in_vietnam

WEEK = timedelta(days=7)
LEVELS = ("commune", "province")


class AggregationError(ValueError):
    """A request the data cannot answer (no case yet, a week outside the data, ...)."""


@dataclass(frozen=True, slots=True)
class Cases:
    """Case reports as parallel arrays: commune code, disease key and onset week (Monday)."""

    commune: np.ndarray  # str
    disease: np.ndarray  # str
    week: np.ndarray  # datetime64[D]
    unplaced: int = 0  # counting reports without a usable commune, onset day or disease

    def __len__(self) -> int:
        return int(self.week.size)


def today() -> date:
    """Today in Vietnam."""
    return in_vietnam(datetime.now(UTC)).date()


def week_start(day: date) -> date:
    """The Monday of the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


def last_complete_week(day: date | None = None) -> date:
    """The Monday of the last ISO week that has ended before `day` (default today)."""
    return week_start(day or today()) - WEEK


def parse_week(text: str) -> date:
    """The Monday of an ISO week written YYYY-Www ("2026-W23"); ValueError otherwise."""
    try:
        year, week = text.strip().upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO week (YYYY-Www, e.g. 2026-W23)") from None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def unplaced_note(count: int) -> str:
    """The one line that says how many reports were counted nowhere."""
    return (f"{count:,} case reports could not be placed (no commune, onset date or disease "
            "code)")  # fmt: skip


def onset_day(onset: str) -> date | None:
    """The Vietnamese calendar date of an onsetDateTime: a date as written, a date and time
    converted to Asia/Ho_Chi_Minh; None for a year or month alone (no week to count it in)."""
    try:
        if len(onset) == 10:
            return date.fromisoformat(onset)
        return in_vietnam(onset).date() if len(onset) > 10 else None
    except ValueError:
        return None


def _known_commune(code: str | None) -> bool:
    try:
        return code is not None and commune(code) is not None
    except UnknownPlace:
        return False


def read_cases(engine: Engine, *, disease: str | None = None) -> Cases:
    """Every counting case report of the store (of one disease, given its key)."""
    among = [tagged("Condition", "category", CATEGORY_SYSTEM, CATEGORY_CODE)]
    if disease is not None:
        among.append(tagged("Condition", "code", DISEASE_SYSTEM, disease))
    query = live("Condition", *among)
    communes_, diseases, onsets = [], [], []
    unplaced = 0
    with engine.connect() as conn:
        for (content,) in conn.execute(query):
            if not counts_as_case(content):
                continue
            where, what = case_commune(content), disease_key(content.get("code", {}))
            day = onset_day(content.get("onsetDateTime") or "")
            if what is None or day is None or not _known_commune(where):
                unplaced += 1
                continue
            communes_.append(where)
            diseases.append(what)
            onsets.append(day)
    days = np.array(onsets, dtype="datetime64[D]")
    mondays = days - ((days.astype(np.int64) - 4) % 7)  # 1970-01-01 was a Thursday
    return Cases(np.array(communes_, dtype=str), np.array(diseases, dtype=str), mondays, unplaced)


def registered_population(engine: Engine, commune_codes: list[str]) -> np.ndarray:
    """People registered with each commune's health station, in the order given."""
    stations = [commune_station_id(c) for c in commune_codes]
    with engine.connect() as conn:
        rows = conn.execute(
            count_referencing("Patient", "organization", stations, target_type="Organization")
        ).all()
    found = dict(rows)
    return np.array([found.get(s, 0) for s in stations], dtype=np.float64)


def weeks_between(start: date, end: date) -> np.ndarray:
    """The Mondays from `start` to `end`, both included."""
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1, 7)


def count_weeks(
    cases: Cases, units: list[str], unit_of: np.ndarray, weeks: np.ndarray
) -> np.ndarray:
    """Counts (n_units, n_weeks): cases whose unit (`unit_of`, one per case) is in `units` and
    whose week is one of `weeks` (consecutive Mondays)."""
    counts = np.zeros((len(units), weeks.size))
    if not len(cases) or not weeks.size:
        return counts
    row = {u: i for i, u in enumerate(units)}
    r = np.array([row.get(u, -1) for u in unit_of.tolist()], dtype=np.int64)
    c = (cases.week - weeks[0]).astype(np.int64) // 7
    keep = (r >= 0) & (c >= 0) & (c < weeks.size)
    np.add.at(counts, (r[keep], c[keep]), 1)
    return counts


def reporting_start(cases: Cases) -> date:
    """The week of the first case ever reported: where the series of the database begin."""
    if not len(cases):
        unplaced = f" ({unplaced_note(cases.unplaced)})" if cases.unplaced else ""
        raise AggregationError(f"no case report in the database yet{unplaced}")
    return cases.week.min().item()


def weekly_series(
    engine: Engine,
    *,
    province_code: str,
    disease: str,
    start: date | None = None,
    end: date | None = None,
    level: str = "commune",
    cases: Cases | None = None,
) -> WeeklySeries:
    """Weekly counts of one disease in a province, per commune (units: commune codes) or for the
    whole province (unit: the province code), from `start` (default: the reporting start) to
    `end` (default: the last complete week), zeros included; population: registered people."""
    find_disease(disease)
    province(province_code)
    if level not in LEVELS:
        raise AggregationError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    if cases is None:
        cases = read_cases(engine)
    start = week_start(start) if start else reporting_start(cases)
    end = week_start(end) if end else last_complete_week()
    if end < start:
        raise AggregationError(f"the weeks end ({week_label(end)}) before they start "
                               f"({week_label(start)})")  # fmt: skip
    weeks = weeks_between(start, end)
    mine = cases.disease == disease
    subset = Cases(cases.commune[mine], cases.disease[mine], cases.week[mine], cases.unplaced)
    codes = [c.code for c in communes(province_code)]
    population = registered_population(engine, codes)
    if level == "commune":
        counts = count_weeks(subset, codes, subset.commune, weeks)
        units = codes
    else:
        of_province = np.array([_province_of(c) for c in subset.commune.tolist()], dtype=str)
        counts = count_weeks(subset, [province_code], of_province, weeks)
        units, population = [province_code], population.sum(keepdims=True)
    return WeeklySeries(
        dates=weeks,
        counts=counts,
        units=tuple(units),
        population=np.repeat(population[:, None], weeks.size, axis=1),
    )


def _province_of(commune_code: str) -> str:
    return commune(commune_code).province_code


def write_series_csv(path: Path, series: WeeklySeries, *, with_population: bool) -> None:
    """Write the `songkhoe surveillance detect` input format: date,count,unit[,population], one
    unit's weeks after the other (to PATH.partial, then renamed)."""
    dates = series.dates.astype(str).tolist()
    with atomic_text_file(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["date", "count", "unit"] + (["population"] if with_population else []))
        for i, unit in enumerate(series.units or ()):
            for j, day in enumerate(dates):
                row = [day, int(series.counts[i, j]), unit]
                if with_population:
                    row.append(int(series.population[i, j]))
                writer.writerow(row)


def incidence_by_area(
    engine: Engine, *, areas: Mapping[str, Sequence[str]], disease: str, week: date
) -> dict[str, float | None]:
    """Incidence per 100,000 registered people of `disease` in the ISO week of `week`, for each
    area given as {area code: its commune codes} (a commune on its own, or a province with its
    communes): the disease-map indicator. None where nobody is registered (no rate)."""
    find_disease(disease)
    monday = np.datetime64(week_start(week), "D")
    cases = read_cases(engine, disease=disease)
    in_week = Counter(cases.commune[cases.week == monday].tolist())
    codes = sorted({c for cs in areas.values() for c in cs})
    people = dict(zip(codes, registered_population(engine, codes).tolist(), strict=True))
    rates: dict[str, float | None] = {}
    for area, members in areas.items():
        registered = sum(people[c] for c in members)
        count = sum(in_week.get(c, 0) for c in members)
        rates[area] = round(1e5 * count / registered, 1) if registered else None
    return rates
