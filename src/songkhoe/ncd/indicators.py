"""Hypertension and diabetes control indicators and check-up coverage, per province or commune
and calendar month, computed with NumPy over the NCD projections.

Definitions: Simple.org (simpledotorg/simple-server, db/views/reporting_patient_states_per_month_v02
.sql and app/queries/patient_states; summarised in ../shared/data/simple_indicators.md). For a
reporting month M (months in Vietnam's time, UTC+7), each living person is:

- *registered* (hypertension: an ICD-10 I10-I15 diagnosis; diabetes: E10-E14) when the earliest
  such diagnosis (onset, else recorded date) falls in M or before; months since registration count
  calendar months.
- *under care* when registered fewer than 12 months ago or with a visit in the 12 months M-11..M;
  otherwise *lost to follow-up*. A visit is an Encounter, a blood pressure or a lab result (Simple:
  a BP, blood sugar, prescription or appointment).
- in the *denominator* ("adjusted": under care and registered 3 or more months before M); there
  the last 3 months M-2..M split four ways: *controlled* (latest BP < 140/90), *uncontrolled*
  (latest BP >= 140 systolic or >= 90 diastolic), *visit but no BP*, *missed visit* (no visit).
- diabetes transfers as Simple's diabetes report does, with fasting blood sugar (LOINC 14771-0,
  the only glucose the stations record) in Simple's FBS bands: < 126 mg/dL (< 7.0 mmol/L,
  "controlled"), 126-199 and >= 200 mg/dL (1 mmol/L = 18.016 mg/dL).
Deaths are excluded (Patient.deceased, whatever its date). Check-up coverage: living adults (18th
birthday by the end of M) with a check-up Encounter (SNOMED CT 185349003) in M-11..M.

The disease map's rates of a whole province (`area_counts`) are counted by the database, per
commune, with the same definitions: reading 100,000 people's projections into arrays takes
seconds, counting them in SQL a few tens of milliseconds.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, and_, case, exists, func, or_, select

from songkhoe.ncd import projections as proj
from songkhoe.ncd.tables import ncd_bp, ncd_diagnosis, ncd_lab, ncd_person, ncd_risk, ncd_visit
from songkhoe.ncd.worklists import HIGH_RISK_BANDS
from songkhoe.places.catalog import commune, communes, province
from songkhoe.terminology import loinc

MG_DL_PER_MMOL_GLUCOSE = 18.016
CARE_MONTHS, RECENT_MONTHS, ADJUST_MONTHS = 12, 3, 3
NEVER = np.iinfo(np.int64).min // 2  # no event: a month far before any other
NOT_REGISTERED = np.iinfo(np.int64).max // 2  # a month far after any other
COUNTS = (
    "adults", "checkup_12m",
    "htn_registered", "htn_under_care", "htn_lost_to_follow_up", "htn_denominator",
    "htn_controlled", "htn_uncontrolled", "htn_visit_no_bp", "htn_missed_visit",
    "dm_registered", "dm_under_care", "dm_lost_to_follow_up", "dm_denominator",
    "dm_bs_below_126", "dm_bs_126_199", "dm_bs_200_plus", "dm_visit_no_bs", "dm_missed_visit",
)  # fmt: skip
RATES = {  # rate column: (numerator, denominator), in %
    "checkup_coverage_pct": ("checkup_12m", "adults"),
    "htn_controlled_pct": ("htn_controlled", "htn_denominator"),
    "htn_uncontrolled_pct": ("htn_uncontrolled", "htn_denominator"),
    "htn_missed_visit_pct": ("htn_missed_visit", "htn_denominator"),
    "dm_bs_below_126_pct": ("dm_bs_below_126", "dm_denominator"),
    "dm_bs_200_plus_pct": ("dm_bs_200_plus", "dm_denominator"),
    "dm_missed_visit_pct": ("dm_missed_visit", "dm_denominator"),
}
COLUMNS = ("month", "place_kind", "place_code", "place_name", *COUNTS, *RATES)


class InvalidMonth(ValueError):
    pass


def parse_month(text: str) -> int:
    """A YYYY-MM month as months since 1970-01; InvalidMonth naming the value otherwise."""
    digits = text[:4] + text[5:]
    if len(text) != 7 or text[4] != "-" or not (digits.isascii() and digits.isdigit()):
        raise InvalidMonth(f"month must be YYYY-MM, got {text!r}")
    if not 1 <= int(text[5:]) <= 12:
        raise InvalidMonth(f"month must be YYYY-MM with a month 01-12, got {text!r}")
    return int(np.datetime64(text, "M").astype(np.int64))


@dataclass(frozen=True, slots=True)
class Cohort:
    """What the indicators need, as arrays over the people of some communes (by position)."""

    people: proj.People
    birth_month: np.ndarray
    htn_since: np.ndarray  # month registered, NOT_REGISTERED if not
    dm_since: np.ndarray
    visit: tuple[np.ndarray, np.ndarray]  # (person, month) of every visit
    checkup: tuple[np.ndarray, np.ndarray]
    bp: dict[str, np.ndarray]  # person, month, time, systolic, diastolic
    fbs: dict[str, np.ndarray]  # person, month, time, mg_dl


def load(conn: Connection, commune_codes: Sequence[str]) -> Cohort:
    """Read the projections of these communes' people into arrays."""
    people = proj.people_of(conn, commune_codes)
    n = people.key.size
    dx = people.read(conn, ncd_diagnosis, "code", "onset")
    onset_month = proj.local_month(dx["onset"])
    category = np.array([c[:3] for c in dx["code"].tolist()], dtype=object)

    def since(codes: frozenset[str]) -> np.ndarray:
        first = np.full(n, NOT_REGISTERED)
        hit = np.isin(category, list(codes))
        np.minimum.at(first, dx["person"][hit], onset_month[hit])
        return first

    visits = people.read(conn, ncd_visit, "at", "kind")
    bp = people.read(conn, ncd_bp, "taken_at", "systolic", "diastolic")
    fbs = people.read(
        conn, ncd_lab, "taken_at", "value", where=f"code = '{loinc.FASTING_GLUCOSE.code}'"
    )
    for rows, time in ((bp, "taken_at"), (fbs, "taken_at"), (visits, "at")):
        rows["month"] = proj.local_month(rows[time])
    fbs["mg_dl"] = fbs["value"] * MG_DL_PER_MMOL_GLUCOSE
    is_checkup = visits["kind"] == "checkup"
    return Cohort(
        people=people,
        birth_month=np.where(
            np.isnat(people.birth), NEVER, people.birth.astype("datetime64[M]").astype(np.int64)
        ),
        htn_since=since(proj.HYPERTENSION_CODES),
        dm_since=since(proj.DIABETES_CODES),
        visit=(
            np.concatenate([visits["person"], bp["person"], fbs["person"]]),
            np.concatenate([visits["month"], bp["month"], fbs["month"]]),
        ),
        checkup=(visits["person"][is_checkup], visits["month"][is_checkup]),
        bp=bp,
        fbs=fbs,
    )


def _last_month(events: tuple[np.ndarray, np.ndarray], n: int, month: int) -> np.ndarray:
    """Each person's latest event month at or before `month` (NEVER if none)."""
    person, months = events
    keep = months <= month
    last = np.full(n, NEVER)
    np.maximum.at(last, person[keep], months[keep])
    return last


def _latest_in_window(rows: dict[str, np.ndarray], n: int, month: int) -> np.ndarray:
    """Index of each person's latest row in months M-2..M (-1 if none)."""
    keep = np.flatnonzero((rows["month"] <= month) & (rows["month"] > month - RECENT_MONTHS))
    latest = proj.last_per_person(rows["person"][keep], rows["time"][keep], n)
    return proj.take(keep, latest, -1)


def person_states(cohort: Cohort, month: int) -> dict[str, np.ndarray]:
    """Boolean arrays over people, one per count of `COUNTS`, for the reporting month."""
    people = cohort.people
    n = people.key.size
    alive = ~people.deceased
    last_visit = _last_month(cohort.visit, n, month)
    visited_recently = month - last_visit < RECENT_MONTHS
    states: dict[str, np.ndarray] = {}

    def care(prefix: str, since: np.ndarray) -> np.ndarray:
        """The care states of one condition; returns its denominator."""
        registered = alive & (since <= month)
        under_care = registered & (
            (month - since < CARE_MONTHS) | (month - last_visit < CARE_MONTHS)
        )
        denominator = under_care & (month - since >= ADJUST_MONTHS)
        states.update({
            f"{prefix}_registered": registered,
            f"{prefix}_under_care": under_care,
            f"{prefix}_lost_to_follow_up": registered & ~under_care,
            f"{prefix}_denominator": denominator,
        })  # fmt: skip
        return denominator

    htn = care("htn", cohort.htn_since)
    bp = cohort.bp
    latest = _latest_in_window({**bp, "time": bp["taken_at"]}, n, month)
    has_bp = latest >= 0
    sbp, dbp = proj.take(bp["systolic"], latest, np.nan), proj.take(bp["diastolic"], latest, np.nan)
    controlled = has_bp & (sbp < 140) & (dbp < 90)
    states["htn_controlled"] = htn & controlled
    states["htn_uncontrolled"] = htn & has_bp & ~controlled
    states["htn_visit_no_bp"] = htn & visited_recently & ~has_bp
    states["htn_missed_visit"] = htn & ~visited_recently

    dm = care("dm", cohort.dm_since)
    fbs = cohort.fbs
    latest = _latest_in_window({**fbs, "time": fbs["taken_at"]}, n, month)
    has_bs = latest >= 0
    mg_dl = proj.take(fbs["mg_dl"], latest, np.nan)
    states["dm_bs_below_126"] = dm & has_bs & (mg_dl < 126)
    states["dm_bs_126_199"] = dm & has_bs & (mg_dl >= 126) & (mg_dl < 200)
    states["dm_bs_200_plus"] = dm & has_bs & (mg_dl >= 200)
    states["dm_visit_no_bs"] = dm & visited_recently & ~has_bs
    states["dm_missed_visit"] = dm & ~visited_recently

    adults = alive & (cohort.birth_month + 18 * 12 <= month)
    states["adults"] = adults
    states["checkup_12m"] = adults & (month - _last_month(cohort.checkup, n, month) < CARE_MONTHS)
    return {name: states[name] for name in COUNTS}


# --- the map's rates, counted per commune in SQL ----------------------------------------------


def month_start(month: int) -> str:
    """The UTC instant, in the store's fixed-width form, at which a month (months since 1970-01)
    begins in Vietnam: a time is in local month M when month_start(M) <= it < month_start(M + 1)."""
    start = np.datetime64(month, "M").astype("datetime64[s]") - np.timedelta64(7, "h")
    return f"{start}.000000Z"


def _during(
    table: Any, column: str, first: int | None, last: int, *more: Any, few: bool = False
) -> Any:
    """Whether the person (a row of ncd_person) has a row of `table` in local months
    first..last (no lower bound when `first` is None): an IN over the fact rows, which the
    database reads once and may start from; or, when it is asked of `few` people, a correlated
    EXISTS that looks up each one's rows by the person index."""
    time = table.c[column]
    conditions = [time < month_start(last + 1), *more]
    if first is not None:
        conditions.append(time >= month_start(first))
    if few:
        return exists().where(table.c.person_key == ncd_person.c.person_key, *conditions)
    return ncd_person.c.person_key.in_(select(table.c.person_key).where(*conditions))


def _diagnosed(codes: frozenset[str], last: int) -> Any:
    """Registered (diagnosed with one of these ICD-10 categories) by the end of month `last`."""
    return _during(
        ncd_diagnosis,
        "onset",
        None,
        last,
        func.substr(ncd_diagnosis.c.code, 1, 3).in_(sorted(codes)),
    )


def _latest(table: Any, column: str, value: Any, first: int | None, last: int) -> Any:
    """`value` of the person's latest row of `table` in local months first..last (NULL if none)."""
    time = table.c[column]
    since = [] if first is None else [time >= month_start(first)]
    return (
        select(value)
        .where(table.c.person_key == ncd_person.c.person_key, *since, time < month_start(last + 1))
        .order_by(time.desc())
        .limit(1)
        .scalar_subquery()
    )


def _adult(month: int) -> Any:
    """18th birthday by the end of the month: born in month M - 216 or before (a partial birth
    date counts from its first day; an unknown one counts, as in `person_states`)."""
    born = func.substr(ncd_person.c.birth_date.concat("-01-01"), 1, 7)  # YYYY-MM
    cutoff = str(np.datetime64(month - 18 * 12 + 1, "M"))
    return or_(ncd_person.c.birth_date.is_(None), born < cutoff)


def _htn_prevalence(m: int) -> tuple[Any, Any, Any]:
    return None, _diagnosed(proj.HYPERTENSION_CODES, m), _adult(m)


def _checkup_coverage(m: int) -> tuple[Any, Any, Any]:
    checkup = _during(ncd_visit, "at", m - CARE_MONTHS + 1, m, ncd_visit.c.kind == "checkup")
    return _adult(m), checkup, None


def _htn_control(m: int) -> tuple[Any, Any, Any]:
    """The adjusted denominator (registered 3+ months before M and under care) and, in it, the
    latest blood pressure of M-2..M below 140/90."""
    first = m - CARE_MONTHS + 1
    fasting = ncd_lab.c.code == loinc.FASTING_GLUCOSE.code
    visited = or_(
        _during(ncd_visit, "at", first, m, few=True),
        _during(ncd_bp, "taken_at", first, m, few=True),
        _during(ncd_lab, "taken_at", first, m, fasting, few=True),
    )
    registered_long = _diagnosed(proj.HYPERTENSION_CODES, m - ADJUST_MONTHS)
    registered_lately = ~_diagnosed(proj.HYPERTENSION_CODES, first - 1)
    controlled = case((and_(ncd_bp.c.systolic < 140, ncd_bp.c.diastolic < 90), 1), else_=0)
    latest = _latest(ncd_bp, "taken_at", controlled, m - RECENT_MONTHS + 1, m)
    return and_(registered_long, or_(registered_lately, visited)), latest == 1, None


def _high_cvd_risk(m: int) -> tuple[Any, Any, Any]:
    """Among people with a WHO CVD risk assessed by the end of M, those whose latest band is
    >= 20% (the chart bands of `songkhoe.ncd.worklists.HIGH_RISK_BANDS`)."""
    band = _latest(ncd_risk, "assessed_at", ncd_risk.c.band, None, m)
    return _during(ncd_risk, "assessed_at", None, m), band.in_(HIGH_RISK_BANDS), None


# rate: month -> (conditions on a living person: who is counted at all (None: everyone),
# the numerator, the denominator (None: everyone counted))
AREA_RATES: dict[str, Callable[[int], tuple[Any, Any, Any]]] = {
    "htn_prevalence": _htn_prevalence,  # htn_registered / adults
    "htn_control": _htn_control,  # htn_controlled / htn_denominator
    "checkup_coverage": _checkup_coverage,  # checkup_12m / adults
    "high_cvd_risk": _high_cvd_risk,
}


def area_counts(
    conn: Connection, commune_codes: Sequence[str], month: str, rate: str
) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of a rate of `AREA_RATES` for each of these communes that has
    people, counted in SQL over the projections. Raises InvalidMonth."""
    scope, numerator, denominator = AREA_RATES[rate](parse_month(month))

    def counted(condition: Any) -> Any:
        return func.count() if condition is None else func.count(case((condition, 1)))

    where = [~ncd_person.c.deceased, ncd_person.c.commune_code.in_(list(commune_codes))]
    query = (
        select(ncd_person.c.commune_code, counted(numerator), counted(denominator))
        .where(*where, *([] if scope is None else [scope]))
        .group_by(ncd_person.c.commune_code)
    )
    return {code: (num, den) for code, num, den in conn.execute(query)}


def _row(month: str, kind: str, code: str, name: str, counts: dict[str, int]) -> dict:
    row: dict = {"month": month, "place_kind": kind, "place_code": code, "place_name": name}
    row.update(counts)
    for rate, (numerator, denominator) in RATES.items():
        den = counts[denominator]
        row[rate] = round(100 * counts[numerator] / den, 1) if den else None
    return row


def _place_name(kind: str, code: str) -> str:
    return (province if kind == "province" else commune)(code).full_name


def table(cohort: Cohort, month: str, *, place: tuple[str, str], by_commune: bool) -> list[dict]:
    """One row for the place (kind, code), then (`by_commune`) one per commune of the cohort,
    in commune code order."""
    states = person_states(cohort, parse_month(month))
    people = cohort.people
    size = len(people.communes)
    per_commune = {
        name: np.bincount(people.commune[mask], minlength=size) for name, mask in states.items()
    }
    total = {name: int(counts.sum()) for name, counts in per_commune.items()}
    rows = [_row(month, *place, _place_name(*place), total)]
    if by_commune:
        rows += [
            _row(month, "commune", code, _place_name("commune", code),
                 {name: int(counts[i]) for name, counts in per_commune.items()})
            for i, code in enumerate(people.communes)
        ]  # fmt: skip
    return rows


def indicators(
    engine: Engine, *, place: tuple[str, str], month: str, by_commune: bool = False
) -> tuple[list[dict], str | None]:
    """The indicator rows of a place ("province" or "commune", code) and, for a province with
    `by_commune`, of each of its communes, for a month; and the moment of the store the
    projections show (None if never built). Raises UnknownPlace, InvalidMonth."""
    parse_month(month)
    kind, code = place
    codes = [c.code for c in communes(code)] if kind == "province" else [commune(code).code]
    with engine.connect() as conn:
        cohort = load(conn, codes)
        as_of = proj.refreshed_as_of(conn)
    return table(cohort, month, place=place, by_commune=by_commune and kind == "province"), as_of
