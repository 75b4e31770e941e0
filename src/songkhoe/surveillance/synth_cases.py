"""Synthetic notifiable-disease cases for demos, tests and benchmarks.

Weekly counts per commune and disease are Poisson with a mean of (rate per 1,000 registered
people per week) x (registered people) x (a seasonal factor) x (a commune factor): the seasonal
factor is exp(a cos(2 pi (week - peak) / 52.18)) / I0(a), whose mean over a year is 1 (I0 is the
modified Bessel function); the commune factor is Gamma(5, 1/5) (mean 1), which makes the counts
over-dispersed between communes, as in real surveillance data. Peaks follow northern Vietnam:
influenza-like illness in late winter, HFMD in spring, diarrhoea in summer, dengue in autumn.

The rates are **amplified for small demo populations** (a 20,000-person synthetic province has a
few hundred people per commune; at real incidence most weeks would be empty): they are for
showing the platform, not for epidemiology. An `Outbreak` adds a known number of cases of one
disease in one commune in one week, the event the weekly job must find.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.special import i0

from songkhoe.fhir.queries import live, referencing
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import communes
from songkhoe.places.facilities import commune_station_id
from songkhoe.surveillance.aggregation import (
    last_complete_week,
    read_cases,
    week_label,
    weeks_between,
)
from songkhoe.surveillance.cases import CaseInput, case_condition
from songkhoe.surveillance.diseases import disease

WEEKS_PER_YEAR = 365.25 / 7
_ID_SPACE = uuid.UUID("0c7f1d52-5a8e-4b9f-9d3c-6e21a4b7c803")


@dataclass(frozen=True, slots=True)
class Seasonality:
    """Weekly cases per 1,000 registered people (yearly mean), amplitude and peak ISO week."""

    rate: float
    amplitude: float
    peak_week: float


DEMO_DISEASES: dict[str, Seasonality] = {
    "dengue": Seasonality(0.15, 1.5, 40),
    "hfmd": Seasonality(0.10, 0.6, 16),
    "measles": Seasonality(0.01, 0.8, 12),
    "ili": Seasonality(0.60, 0.7, 6),
    "diarrhoea": Seasonality(0.30, 0.4, 28),
    "covid19": Seasonality(0.05, 0.3, 8),
}


@dataclass(frozen=True, slots=True)
class Outbreak:
    """`cases` extra cases of `disease` in `commune` in the ISO week starting on `week`."""

    commune: str
    disease: str
    week: date
    cases: int = 12


@dataclass(frozen=True, slots=True)
class SyntheticCounts:
    """Counts (n_diseases, n_communes, n_weeks) over consecutive Mondays `weeks`."""

    diseases: tuple[str, ...]
    communes: tuple[str, ...]
    weeks: np.ndarray  # datetime64[D]
    counts: np.ndarray  # int64


def seasonal_factor(weeks: np.ndarray, season: Seasonality) -> np.ndarray:
    """exp(a cos(2 pi (w - peak) / 52.18)) / I0(a) at each Monday's ISO week number w."""
    week_of_year = np.array([d.isocalendar()[1] for d in weeks.astype(object)], dtype=float)
    phase = 2 * np.pi * (week_of_year - season.peak_week) / WEEKS_PER_YEAR
    return np.exp(season.amplitude * np.cos(phase)) / i0(season.amplitude)


def synthetic_counts(
    *,
    commune_codes: list[str],
    population: np.ndarray,
    start: date,
    end: date,
    seed: int,
    diseases: dict[str, Seasonality] = DEMO_DISEASES,
    outbreak: Outbreak | None = None,
) -> SyntheticCounts:
    """Seasonal weekly counts per disease and commune from the Monday of `start` to that of
    `end`, plus the outbreak's cases (see the module doc)."""
    weeks = weeks_between(start - timedelta(days=start.weekday()), end - timedelta(end.weekday()))
    rng = np.random.default_rng(np.random.SeedSequence([seed, len(commune_codes), weeks.size]))
    keys = tuple(diseases)
    counts = np.zeros((len(keys), len(commune_codes), weeks.size), dtype=np.int64)
    for d, key in enumerate(keys):
        season = diseases[key]
        commune_factor = rng.gamma(5.0, 1 / 5.0, len(commune_codes))
        mean = (season.rate / 1000 * population * commune_factor)[:, None]
        counts[d] = rng.poisson(mean * seasonal_factor(weeks, season)[None, :])
    if outbreak is not None:
        disease(outbreak.disease)
        column = np.flatnonzero(weeks == np.datetime64(outbreak.week, "D"))
        if outbreak.disease not in keys or outbreak.commune not in commune_codes or not column.size:
            raise ValueError(f"the outbreak {outbreak} is outside the generated diseases, "
                             "communes or weeks")  # fmt: skip
        counts[keys.index(outbreak.disease), commune_codes.index(outbreak.commune), column] += (
            outbreak.cases
        )
    return SyntheticCounts(keys, tuple(commune_codes), weeks, counts)


@dataclass(frozen=True, slots=True)
class People:
    """The registered people of one commune: ids and birth dates (datetime64[D])."""

    ids: np.ndarray
    born: np.ndarray


def case_resources(
    synthetic: SyntheticCounts,
    people: dict[str, People],
    *,
    province_code: str,
    seed: int,
    as_of: date,
) -> list[dict]:
    """A Condition (`cases.case_condition`) per counted case: a person of the commune born by the
    onset, an onset day within the week and not after `as_of`, reported the next day; ids are
    deterministic in (province, seed), so provinces loaded with the same seed do not collide.
    Cases of a commune with nobody registered are not made (its rate is zero)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    out = []
    d_idx, c_idx, w_idx = np.nonzero(synthetic.counts)
    for d, c, w in zip(d_idx.tolist(), c_idx.tolist(), w_idx.tolist(), strict=True):
        found = disease(synthetic.diseases[d])
        who = people.get(synthetic.communes[c])
        if who is None or not who.ids.size:
            continue
        for _ in range(int(synthetic.counts[d, c, w])):
            onset = synthetic.weeks[w] + rng.integers(0, 7)
            onset = min(onset.astype(object), as_of)
            eligible = np.flatnonzero(who.born <= np.datetime64(onset, "D"))
            if not eligible.size:
                continue
            case = CaseInput(
                patient_id=str(who.ids[rng.choice(eligible)]),
                disease=found,
                icd10=found.icd10[rng.integers(len(found.icd10))],
                onset=onset,
                commune_code=synthetic.communes[c],
                classification=("suspected", "confirmed")[int(rng.random() < 0.4)],
                note=None,
            )
            condition = case_condition(
                case,
                commune_code=synthetic.communes[c],
                recorded=f"{onset + timedelta(days=1)}T02:00:00.000Z",
            )
            condition["id"] = str(uuid.uuid5(_ID_SPACE, f"{province_code}/{seed}/{len(out)}"))
            out.append(condition)
    return out


def registered_people(store: ResourceStore, province_code: str) -> dict[str, People]:
    """The people registered with each commune station of the province."""
    stations = {commune_station_id(c.code): c.code for c in communes(province_code)}
    registered = referencing("Patient", "organization", stations)
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    with store.engine.connect() as conn:
        for patient in conn.execute(live("Patient", registered)).scalars():
            org = patient["managingOrganization"]["reference"].removeprefix("Organization/")
            ids, born = grouped.setdefault(stations[org], ([], []))
            ids.append(patient["id"])
            born.append(patient.get("birthDate", "1900-01-01")[:10])
    return {
        code: People(np.array(ids), np.array(born, dtype="datetime64[D]"))
        for code, (ids, born) in grouped.items()
    }


def load_synthetic_cases(
    store: ResourceStore,
    *,
    province_code: str,
    years: int = 6,
    seed: int = 1,
    as_of: date | None = None,
    outbreak: Outbreak | None = None,
) -> int:
    """Write `years` of synthetic cases for the registered people of a province up to the last
    complete week before `as_of` (default today), with the outbreak if given; returns how many.
    The rates assume the registered people (see the module doc)."""
    end = last_complete_week(as_of)
    people = registered_people(store, province_code)
    codes = [c.code for c in communes(province_code)]
    population = np.array([people[c].ids.size if c in people else 0 for c in codes], float)
    synthetic = synthetic_counts(
        commune_codes=codes,
        population=population,
        start=end - timedelta(weeks=round(years * WEEKS_PER_YEAR)),
        end=end,
        seed=seed,
        outbreak=outbreak,
    )
    conditions = case_resources(
        synthetic, people, province_code=province_code, seed=seed, as_of=end + timedelta(days=6)
    )
    store.create_many(conditions)
    return len(conditions)


def busiest_commune(store: ResourceStore, province_code: str) -> str:
    """The commune of the province with the most registered people."""
    people = registered_people(store, province_code)
    if not people:
        raise ValueError(f"nobody is registered in province {province_code}")
    return max(people, key=lambda code: (people[code].ids.size, code))


def demo_surveillance(store: ResourceStore, province_code: str) -> str:
    """For `songkhoe demo`: if the database has no case report yet, six years of synthetic
    cases with a dengue outbreak in the busiest commune in the last complete week, then the
    weekly job for that week. Returns one line to print."""
    from songkhoe.surveillance.service import run_weekly

    if len(read_cases(store.engine)):
        return "surveillance: case reports already present"
    week = last_complete_week()
    where = busiest_commune(store, province_code)
    created = load_synthetic_cases(
        store, province_code=province_code, outbreak=Outbreak(where, "dengue", week)
    )
    report = run_weekly(store, week=week)
    return (
        f"surveillance: {created:,} synthetic case reports (dengue outbreak in commune {where}, "
        f"{week_label(week)}); weekly job: {report.summary()}"
    )


def synthetic_province(
    store: ResourceStore, *, province_code: str, people: int, seed: int, as_of: date
) -> Outbreak:
    """A synthetic population of a province (`songkhoe.synth`) with six years of synthetic
    cases and a dengue outbreak in its busiest commune in the last complete week before
    `as_of`, for tests and benchmarks; returns the outbreak."""
    from songkhoe.synth.service import populate

    populate(store=store, province_code=province_code, people=people, seed=seed, as_of=as_of)
    outbreak = Outbreak(busiest_commune(store, province_code), "dengue", last_complete_week(as_of))
    load_synthetic_cases(
        store, province_code=province_code, seed=seed, as_of=as_of, outbreak=outbreak
    )
    return outbreak
