"""Typed projections of the NCD data, rebuilt in bulk from the resource store and read as arrays.

DESIGN.md: "analytics never parse JSON in a hot loop". `rebuild` reads each resource type the
NCD work needs once, in a streamed pass, and writes one typed row per fact (a blood pressure, a
lab value, a diagnosis, ...) with the store's fast bulk path (COPY on PostgreSQL, executemany on
SQLite), all in one transaction: readers see the old projections or the new ones, never a mix.
The projections are not maintained on write; `ncd_refresh.as_of` says which moment of the store
they show (`songkhoe ncd refresh` rebuilds them).

What counts (FHIR R4 status value sets): Observations except entered-in-error and cancelled;
Conditions whose clinicalStatus is active, recurrence or relapse and that are not refuted or
entered in error; Encounters except planned, cancelled and entered-in-error. Quantities in mg/dL
are converted to mmol/L (glucose 18.016, cholesterol 38.67 mg/dL per mmol/L). These rules
(`observation_counts`, `condition_counts`, `encounter_counts`, `blood_pressure`, `mmol`) are
public: the person's chart in the web app applies the same ones.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, Table, delete, func, insert, select

from songkhoe.db.bulk import insert_tuples
from songkhoe.fhir.indexing import date_range
from songkhoe.fhir.queries import live, tagged
from songkhoe.fhir.store import ResourceStore, Writer, utc_now
from songkhoe.fhir.systems import (
    ATC,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    ICD10,
    LOINC,
    SNOMED,
)
from songkhoe.ncd.checkup_codes import (  # the coding of visits and smoking status
    CHECKUP_CODE,
    FOLLOW_UP_CODE,
    SMOKING_STATUS,
)
from songkhoe.ncd.tables import (
    ncd_bp,
    ncd_diagnosis,
    ncd_lab,
    ncd_person,
    ncd_refresh,
    ncd_risk,
    ncd_smoking,
    ncd_treatment,
    ncd_visit,
)
from songkhoe.terminology import loinc

# ICD-10 blocks I10-I15 "Hypertensive diseases" and E10-E14 "Diabetes mellitus" (WHO 2019).
HYPERTENSION_CODES = frozenset({"I10", "I11", "I12", "I13", "I15"})
DIABETES_CODES = frozenset({"E10", "E11", "E12", "E13", "E14"})
# The ICD-10 (WHO 2019) codes of the conditions the CHA2DS2-VA stroke-risk score of atrial
# fibrillation counts (`songkhoe.ncd.scores.cha2ds2_va`; ESC 2024 AF guideline, Van Gelder et al.,
# Eur Heart J 2024;45:3314-3414). The guideline defines its items clinically, not by code: this
# mapping is ours. A code matches a prefix ignoring the dot ("I11.0" matches "I11.0" and "I110").
AF_CODES = ("I48",)  # atrial fibrillation and flutter
HEART_FAILURE_CODES = ("I50", "I11.0", "I13.0", "I13.2")  # heart failure; hypertensive with HF
# stroke (I63 infarction, I64 not specified), G45 TIA, I74 arterial embolism and thrombosis,
# I26 pulmonary embolism (thromboembolism as the Danish registries count it, Olesen et al., BMJ
# 2011;342:d124), I69.3/I69.4 sequelae of infarction / of unspecified stroke (a past stroke)
STROKE_CODES = ("I63", "I64", "G45", "I74", "I26", "I69.3", "I69.4")
# myocardial infarction and chronic ischaemic heart disease, atherosclerosis (aortic plaque,
# peripheral arteries), peripheral vascular disease unspecified
VASCULAR_CODES = ("I21", "I22", "I23", "I24", "I25", "I70", "I73.9")
STROKE_RISK_CODES = AF_CODES + HEART_FAILURE_CODES + STROKE_CODES + VASCULAR_CODES
# ATC groups (WHO ATC/DDD Index): antihypertensives, statins and other lipid modifiers,
# blood glucose lowering drugs; oral anticoagulants: vitamin K antagonists (B01AA), direct
# factor Xa inhibitors (B01AF), dabigatran etexilate (B01AE07).
BP_LOWERING_ATC = ("C02", "C03", "C07", "C08", "C09")
LIPID_LOWERING_ATC = ("C10",)
GLUCOSE_LOWERING_ATC = ("A10",)
ANTICOAGULANT_ATC = ("B01AA", "B01AF", "B01AE07")
TREATMENT_ATC = BP_LOWERING_ATC + LIPID_LOWERING_ATC + GLUCOSE_LOWERING_ATC + ANTICOAGULANT_ATC
BP_PANELS = ("85354-9", "55284-4")
LABS = {loinc.FASTING_GLUCOSE.code: 18.016, loinc.TOTAL_CHOLESTEROL.code: 38.67}  # mg/dL per mmol/L
FACT_TABLES: tuple[Table, ...] = (
    ncd_bp, ncd_lab, ncd_smoking, ncd_diagnosis, ncd_treatment, ncd_visit, ncd_risk
)  # fmt: skip
_DTYPES: dict[type, Any] = {int: np.int64, float: np.float64, bool: bool}
TIME_COLUMNS = frozenset({"taken_at", "onset", "authored", "at", "assessed_at"})
VOID = frozenset({"entered-in-error", "cancelled"})  # Observation and Encounter statuses
FACTS = {t.name: t for t in FACT_TABLES}


@dataclass(frozen=True, slots=True)
class RefreshReport:
    as_of: str
    people: int
    rows: dict[str, int]


def icd10_in(code: str, prefixes: Sequence[str]) -> bool:
    """Whether an ICD-10 code starts with one of these codes, dots ignored."""
    bare = code.replace(".", "")
    return any(bare.startswith(p.replace(".", "")) for p in prefixes)


def is_projected_diagnosis(code: str) -> bool:
    """Whether `ncd_diagnosis` keeps a diagnosis: hypertension, diabetes or a condition the
    AF stroke-risk score counts. Its readers each filter to the codes they mean."""
    return code[:3] in HYPERTENSION_CODES | DIABETES_CODES or icd10_in(code, STROKE_RISK_CODES)


def codes(concept: dict | None, system: str) -> list[str]:
    """The codes of a CodeableConcept in one code system."""
    return [c.get("code") for c in (concept or {}).get("coding", []) if c.get("system") == system]


def utc(value: Any) -> str | None:
    """The UTC start of a FHIR date/dateTime, or None when it is missing or malformed."""
    try:
        return date_range(value)[0] if value else None
    except ValueError:
        return None


def time_of(res: dict, *names: str) -> str | None:
    """The first of these dateTime elements (a Period counts by its start), in UTC."""
    for name in names:
        value = res.get(name)
        if isinstance(value, dict):
            value = value.get("start")
        if value:
            return utc(value)
    return None


OBSERVED = ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")


def mmol(quantity: dict | None, mg_per_mmol: float) -> float | None:
    """A quantity in mmol/L (mg/dL converted; no unit taken as mmol/L), None for other units
    or no value."""
    if not quantity or not isinstance(quantity.get("value"), int | float):
        return None
    unit = quantity.get("code") or quantity.get("unit")
    if unit == "mg/dL":
        return quantity["value"] / mg_per_mmol
    return float(quantity["value"]) if unit in ("mmol/L", None) else None


def blood_pressure(res: dict) -> tuple[float, float] | None:
    """(systolic, diastolic) of an Observation coded as a blood-pressure panel with both
    components as numbers, else None."""
    return _pressure(res) if set(BP_PANELS) & set(codes(res.get("code"), LOINC)) else None


def _pressure(res: dict) -> tuple[float, float] | None:
    """(systolic, diastolic) from the components, whatever the Observation's code."""
    values = {
        c: (comp.get("valueQuantity") or {}).get("value")
        for comp in res.get("component", [])
        for c in codes(comp.get("code"), LOINC)
    }
    sbp, dbp = values.get(loinc.SYSTOLIC_BP.code), values.get(loinc.DIASTOLIC_BP.code)
    if isinstance(sbp, int | float) and isinstance(dbp, int | float):
        return float(sbp), float(dbp)
    return None


def observation_counts(res: dict) -> bool:
    """Whether an Observation counts: not entered in error nor cancelled."""
    return res.get("status") not in VOID


def condition_counts(res: dict) -> bool:
    """Whether a Condition counts as a diagnosis the person has: clinically active, recurrent or
    relapsed, and neither refuted nor entered in error."""
    clinical = codes(res.get("clinicalStatus"), CONDITION_CLINICAL)
    verification = codes(res.get("verificationStatus"), CONDITION_VERIFICATION)
    return bool({"active", "recurrence", "relapse"} & set(clinical)) and not (
        {"refuted", "entered-in-error"} & set(verification)
    )


def encounter_counts(res: dict) -> bool:
    """Whether an Encounter counts as a visit: not planned, cancelled nor entered in error."""
    return res.get("status") not in VOID | {"planned"}


class _Builder:
    """Turns resources into projection rows, keyed by `person_key`."""

    def __init__(self, keys: dict[str, int]) -> None:
        self.keys = keys
        self.rows: dict[str, list[tuple]] = {t.name: [] for t in FACT_TABLES}

    def person(self, res: dict) -> int | None:
        ref = (res.get("subject") or {}).get("reference", "")
        return self.keys.get(ref[8:]) if ref.startswith("Patient/") else None

    def observation(self, res: dict) -> None:
        key = self.person(res)
        at = time_of(res, *OBSERVED)
        if key is None or at is None or not observation_counts(res):
            return
        encounter = (res.get("encounter") or {}).get("reference", "").removeprefix("Encounter/")
        head = (key, res["id"], encounter or None, at)
        for code in codes(res.get("code"), LOINC):
            if code in BP_PANELS:
                pressure = _pressure(res)
                if pressure is not None:
                    self.rows["ncd_bp"].append((*head, *pressure))
            elif code in LABS:
                value = mmol(res.get("valueQuantity"), LABS[code])
                if value is not None:
                    self.rows["ncd_lab"].append((*head, code, value))
            elif code == loinc.SMOKING_STATUS.code:
                for answer in codes(res.get("valueCodeableConcept"), SNOMED):
                    if answer in SMOKING_STATUS:
                        self.rows["ncd_smoking"].append((*head, SMOKING_STATUS[answer]))
                        break

    def condition(self, res: dict) -> None:
        key = self.person(res)
        onset = time_of(res, "onsetDateTime", "onsetPeriod", "recordedDate")
        if key is None or onset is None or not condition_counts(res):
            return
        for code in codes(res.get("code"), ICD10):
            if is_projected_diagnosis(code):
                self.rows["ncd_diagnosis"].append((key, res["id"], code, onset))

    def medication_request(self, res: dict) -> None:
        key = self.person(res)
        if key is None:
            return
        for atc in codes(res.get("medicationCodeableConcept"), ATC):
            if atc.startswith(TREATMENT_ATC):
                row = (
                    key,
                    res["id"],
                    atc,
                    res.get("status", "unknown"),
                    utc(res.get("authoredOn")),
                )
                self.rows["ncd_treatment"].append(row)

    def encounter(self, res: dict) -> None:
        key = self.person(res)
        at = time_of(res, "period")
        if key is None or at is None or not encounter_counts(res):
            return
        types = {c for t in res.get("type", []) for c in codes(t, SNOMED)}
        kind = (
            "checkup"
            if CHECKUP_CODE in types
            else "followup"
            if FOLLOW_UP_CODE in types
            else "other"
        )
        self.rows["ncd_visit"].append((key, res["id"], at, kind))


def _stream(conn: Connection, query: Select) -> Iterator[dict]:
    """The resources of a query of contents (`live`), read in a streamed pass."""
    result = conn.execute(query.execution_options(yield_per=5000))
    for partition in result.partitions():
        for (content,) in partition:
            yield content


def _observations_of_interest() -> Select:
    """The live Observations that the projections read: blood pressures, labs, smoking."""
    codes = [*BP_PANELS, *LABS, loinc.SMOKING_STATUS.code]
    return live("Observation", tagged("Observation", "code", LOINC, codes))


def _people(conn: Connection) -> list[tuple]:
    rows = []
    for res in _stream(conn, live("Patient")):
        org = (res.get("managingOrganization") or {}).get("reference", "")
        commune = (
            org.removeprefix("Organization/tyt-") if org.startswith("Organization/tyt-") else None
        )
        deceased = bool(res.get("deceasedBoolean") or res.get("deceasedDateTime"))
        rows.append((res["id"], commune, res.get("gender"), res.get("birthDate"), deceased))
    rows.sort(key=lambda r: (r[1] or "", r[0]))  # a commune's people get neighbouring keys
    return [(key, *row) for key, row in enumerate(rows)]


def rebuild(
    store: ResourceStore, *, after: Callable[[Writer], None] | None = None
) -> RefreshReport:
    """Rebuild every NCD projection from the live resources, in one transaction; `after(writer)`
    runs inside it before the commit (the risk assessments are built there)."""
    as_of, started = utc_now(), time.perf_counter()
    with store.transaction() as writer:
        conn = writer.conn
        conn.execute(delete(ncd_refresh))
        for table in (*FACT_TABLES, ncd_person):
            conn.execute(delete(table))
        people = _people(conn)
        insert_tuples(conn, ncd_person, people)
        builder = _Builder({row[1]: row[0] for row in people})
        passes: Sequence[tuple[Select, Callable[[dict], None]]] = (
            (_observations_of_interest(), builder.observation),
            (live("Condition"), builder.condition),
            (live("MedicationRequest"), builder.medication_request),
            (live("Encounter"), builder.encounter),
        )
        for query, project in passes:
            for res in _stream(conn, query):
                project(res)
        for name, rows in builder.rows.items():
            insert_tuples(conn, FACTS[name], rows)
        if after is not None:
            after(writer)
        seconds = time.perf_counter() - started
        conn.execute(
            insert(ncd_refresh).values(id=1, as_of=as_of, people=len(people), seconds=seconds)
        )
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in FACT_TABLES}  # fmt: skip
    return RefreshReport(as_of=as_of, people=len(people), rows=counts)


def refreshed_as_of(conn: Connection) -> str | None:
    """The moment of the store the projections show, or None if they were never built."""
    return conn.execute(select(ncd_refresh.c.as_of)).scalar()


def to_time(values: Sequence[str | None]) -> np.ndarray:
    """Fixed-width UTC strings as datetime64[s] (NaT for None)."""
    if None in values:
        values = [v or "NaT" for v in values]
    return np.array(values, dtype="U19").astype("datetime64[s]")


def to_date(values: Sequence[str | None]) -> np.ndarray:
    """FHIR dates (a partial date counts from its first day) as datetime64[D], NaT for None."""
    return np.array([v or "NaT" for v in values], dtype="datetime64[D]")


def read(conn: Connection, table: Table, *columns: str, where: str = "") -> dict[str, np.ndarray]:
    """Columns of a projection as NumPy arrays: times as datetime64[s], numbers as numbers,
    codes and ids as object arrays of str. Rows come straight from the DB-API cursor: wrapping
    each in a SQLAlchemy Row would cost more than the query."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table.name} {where}")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    out: dict[str, np.ndarray] = {}
    for name, column in zip(columns, values, strict=True):
        dtype = _DTYPES.get(table.c[name].type.python_type, object)
        out[name] = to_time(column) if name in TIME_COLUMNS else np.array(column, dtype=dtype)
    return out


def last_per_person(person: np.ndarray, when: np.ndarray, people: int) -> np.ndarray:
    """For each person key 0..people-1, the index of their latest row (by `when`; -1 if none)."""
    latest = np.full(people, -1, dtype=np.int64)
    if person.size:
        order = np.lexsort((when, person))
        ordered = person[order]
        last = np.r_[ordered[1:] != ordered[:-1], True]
        latest[ordered[last]] = order[last]
    return latest


def first_time(person: np.ndarray, when: np.ndarray, people: int) -> np.ndarray:
    """For each person key, the earliest `when` (NaT if none)."""
    earliest = np.full(people, np.datetime64("NaT"), dtype="datetime64[s]")
    first = last_per_person(person, -when.astype(np.int64), people)  # latest of the negated
    has = first >= 0
    earliest[has] = when[first[has]]
    return earliest


@dataclass(frozen=True, slots=True)
class People:
    """The people of some communes, read from `ncd_person`: arrays indexed by position, and the
    SQL condition that selects their rows of a fact table."""

    key: np.ndarray  # person_key, sorted
    patient_id: np.ndarray
    commune: np.ndarray  # index into `communes`
    communes: list[str]
    sex: np.ndarray
    birth: np.ndarray  # datetime64[D], NaT if unknown
    deceased: np.ndarray
    where: str

    def position(self, key: np.ndarray) -> np.ndarray:
        """Positions of these person keys (each must belong to these people)."""
        return np.searchsorted(self.key, key)

    def read(self, conn: Connection, table: Table, *columns: str, where: str = "") -> dict:
        """Their rows of a fact table, with `person` (position) added."""
        condition = f"({self.where}) AND ({where})" if where else self.where
        rows = read(conn, table, "person_key", *columns, where=f"WHERE {condition}")
        rows["person"] = self.position(rows["person_key"])
        return rows


def people_of(conn: Connection, communes: Sequence[str]) -> People:
    """The people registered with these communes' health stations. Keys are numbered commune by
    commune, so the rows of a commune (or a province) are found by a few key ranges."""
    codes = list(communes)
    marks = ", ".join(f"'{c}'" for c in codes if c.isdigit())  # GSO codes: digits only
    found = read(
        conn, ncd_person, "person_key", "patient_id", "commune_code", "sex", "birth_date",
        "deceased", where=f"WHERE commune_code IN ({marks or 'NULL'}) ORDER BY person_key",
    )  # fmt: skip
    key = found["person_key"]
    breaks = np.flatnonzero(np.diff(key) != 1) + 1
    ranges = [(int(k[0]), int(k[-1])) for k in np.split(key, breaks) if k.size]
    where = " OR ".join(f"person_key BETWEEN {lo} AND {hi}" for lo, hi in ranges) or "1 = 0"
    index = {c: i for i, c in enumerate(codes)}
    return People(
        key=key,
        patient_id=found["patient_id"],
        commune=np.array([index[c] for c in found["commune_code"].tolist()], dtype=np.int64),
        communes=codes,
        sex=found["sex"],
        birth=to_date(found["birth_date"]),
        deceased=found["deceased"],
        where=where,
    )


def local_month(when: np.ndarray) -> np.ndarray:
    """Calendar month (months since 1970-01) in Vietnam's time (UTC+7, no daylight saving) of
    UTC datetime64 values."""
    return (when + np.timedelta64(7, "h")).astype("datetime64[M]").astype(np.int64)


def local_day(when: np.ndarray) -> np.ndarray:
    """Calendar day (days since 1970-01-01) in Vietnam's time of UTC datetime64 values."""
    return (when + np.timedelta64(7, "h")).astype("datetime64[D]").astype(np.int64)


def completed_years(birth: np.ndarray, on: np.datetime64) -> np.ndarray:
    """Age in completed years on a day, from datetime64[D] birth dates (NaN where unknown)."""

    def year_and_day(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        year, month = d.astype("datetime64[Y]"), d.astype("datetime64[M]")
        in_year = (month - year).astype(np.int64) * 32 + (d - month).astype(np.int64)
        return year.astype(np.int64), in_year

    born, born_on = year_and_day(birth)
    now, today = year_and_day(np.datetime64(on, "D"))
    age = (now - born - (today < born_on)).astype(float)
    return np.where(np.isnat(birth), np.nan, age)


def take(values: np.ndarray, index: np.ndarray, missing: Any) -> np.ndarray:
    """values[index], with `missing` where the index is -1 ("none", as `last_per_person` says)."""
    return np.append(values, np.array([missing], dtype=values.dtype))[index]
