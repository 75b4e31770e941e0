"""Worklists of a commune health station, computed over the NCD projections as of a moment.

- `overdue`: people with diagnosed hypertension or diabetes, under care (registered in the last
  365 days or a visit in them, Simple.org's care state), whose last visit (or, with none since,
  their registration) is more than 30 days old: the stations follow them up and dispense
  medicines monthly (Quyết định 3192/QĐ-BYT 2010; 5481/QĐ-BYT 2020). Simple.org's "overdue"
  needs a scheduled appointment, which the data does not hold.
- `uncontrolled`: diagnosed hypertension and the latest blood pressure >= 140 systolic or >= 90
  diastolic (Simple.org's control threshold), with its grade (`songkhoe.ncd.scores.bp_grade`).
- `high-risk-untreated`: the latest WHO CVD RiskAssessment is in the 20-<30 or >=30 chart band
  (the band of the printed, rounded risk) and no active prescription of a blood-pressure-lowering
  (ATC C02, C03, C07, C08, C09) or lipid-lowering (C10) medicine (WHO HEARTS technical package,
  risk-based CVD management, 2020: >= 20% calls for treatment).
- `undiagnosed-htn`: no hypertension diagnosis but, in the last 365 days, readings >= 140/90 on two
  or more days or one >= 160/100 (WHO HEARTS: two raised readings on different days; >= 160/100 is
  grade 2 in ISH 2020 and the Vietnamese 2022 guideline).
- `lung-screening`: USPSTF 2021 (JAMA 2021;325:962) needs age 50-80, >= 20 pack-years and
  current smoking or quitting under 15 years ago. The stations record smoking status only, not
  pack-years nor the year of quitting, so nobody can be found eligible: the list holds the current
  and former smokers aged 50-80 whose eligibility is undetermined (`lung_ct_known` false), with
  what to ask. Nothing is assumed.
- `af-stroke-risk`: atrial fibrillation or flutter on record (an ICD-10 I48 diagnosis: the
  clinician's confirmation of an ECG screen, I48.9, or any other), with the CHA2DS2-VA score of
  the ESC 2024 AF guideline (`songkhoe.ncd.scores.cha2ds2_va`) from the diagnoses on record and
  the age, each item with the diagnosis (code and Condition) or the age that gave it, the
  guideline's advice, and whether an oral anticoagulant (ATC B01AA, B01AF, B01AE07) is actively
  prescribed: the others are to be referred for an anticoagulation assessment. Highest score
  first; an unknown age (no score) last.
Deceased people are left out of every list.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine

from songkhoe.fhir.names import full_name
from songkhoe.fhir.queries import live
from songkhoe.ncd import projections as proj
from songkhoe.ncd.scores import (
    CHA2DS2_VA_ITEMS,
    bp_grade,
    cha2ds2_va,
    cha2ds2_va_advice,
    lung_ct_eligible,
    lung_ct_known,
)
from songkhoe.ncd.tables import (
    ncd_bp,
    ncd_diagnosis,
    ncd_risk,
    ncd_smoking,
    ncd_treatment,
    ncd_visit,
)
from songkhoe.places.catalog import commune

FOLLOW_UP_DAYS = 30
CARE_DAYS = 365
ELEVATED = (140.0, 90.0)
SEVERE = (160.0, 100.0)
HIGH_RISK_BANDS = ("20-<30", ">=30")
SMOKING_NAMES = np.array(["never", "former", "current", ""], dtype=object)  # by status; -1: none


@dataclass(frozen=True, slots=True)
class Context:
    """One commune's people and the moment the worklist is for."""

    conn: Connection
    people: proj.People
    now: np.datetime64  # UTC, datetime64[s]

    def rows(self, table, *columns: str, time: str) -> dict[str, np.ndarray]:
        """Their rows of a fact table up to `now` (rows with no time count)."""
        rows = self.people.read(self.conn, table, *columns, time)
        keep = ~(rows[time] > self.now)
        return {name: values[keep] for name, values in rows.items()}

    @property
    def alive(self) -> np.ndarray:
        return ~self.people.deceased

    def first_diagnosis(self, codes: frozenset[str]) -> np.ndarray:
        """Each person's earliest diagnosis among these ICD-10 categories, NaT if none."""
        dx = self.rows(ncd_diagnosis, "code", time="onset")
        hit = np.array([c[:3] in codes for c in dx["code"].tolist()], dtype=bool)
        return proj.first_time(dx["person"][hit], dx["onset"][hit], self.people.key.size)

    def last_visit(self) -> np.ndarray:
        """Each person's latest visit (Encounter or blood pressure), NaT if none."""
        visits = self.rows(ncd_visit, "kind", time="at")
        bp = self.rows(ncd_bp, time="taken_at")
        person = np.concatenate([visits["person"], bp["person"]])
        when = np.concatenate([visits["at"], bp["taken_at"]])
        latest = proj.last_per_person(person, when, self.people.key.size)
        return proj.take(when, latest, np.datetime64("NaT"))

    def has_hypertension(self) -> np.ndarray:
        return ~np.isnat(self.first_diagnosis(proj.HYPERTENSION_CODES))

    def age(self) -> np.ndarray:
        """Age in completed years at `now`."""
        return proj.completed_years(
            self.people.birth, proj.local_day(self.now).astype("datetime64[D]")
        )


Entry = dict[str, object]


def _days(delta: np.ndarray) -> np.ndarray:
    return (delta / np.timedelta64(1, "D")).astype(float)


def _iso(when: np.datetime64) -> str | None:
    return None if np.isnat(when) else f"{when}Z"


def overdue(ctx: Context) -> list[Entry]:
    registered = ctx.first_diagnosis(proj.HYPERTENSION_CODES | proj.DIABETES_CODES)
    last = ctx.last_visit()
    since_registered = _days(ctx.now - registered)
    since_visit = _days(ctx.now - last)
    under_care = ~np.isnat(registered) & (
        (since_registered <= CARE_DAYS) | (since_visit <= CARE_DAYS)
    )
    contact = np.where(np.isnat(last) | (last < registered), registered, last)
    due = contact + np.timedelta64(FOLLOW_UP_DAYS, "D")
    hit = np.flatnonzero(ctx.alive & under_care & (due < ctx.now))
    hit = hit[np.argsort(due[hit], kind="stable")]
    return [
        {"person": i, "last_visit": _iso(last[i]), "due": _iso(due[i]),
         "days_overdue": int(_days(ctx.now - due[i]))}
        for i in hit.tolist()
    ]  # fmt: skip


def uncontrolled(ctx: Context) -> list[Entry]:
    bp = ctx.rows(ncd_bp, "systolic", "diastolic", time="taken_at")
    latest = proj.last_per_person(bp["person"], bp["taken_at"], ctx.people.key.size)
    sbp, dbp = proj.take(bp["systolic"], latest, np.nan), proj.take(bp["diastolic"], latest, np.nan)
    taken = proj.take(bp["taken_at"], latest, np.datetime64("NaT"))
    raised = (sbp >= ELEVATED[0]) | (dbp >= ELEVATED[1])
    hit = np.flatnonzero(ctx.alive & ctx.has_hypertension() & raised)
    grade = bp_grade(sbp[hit], dbp[hit])
    hit_order = np.lexsort((-dbp[hit], -sbp[hit]))
    return [
        {"person": int(hit[j]), "taken_at": _iso(taken[hit[j]]),
         "systolic": float(sbp[hit[j]]), "diastolic": float(dbp[hit[j]]), "bp_grade": str(grade[j])}
        for j in hit_order.tolist()
    ]  # fmt: skip


def high_risk_untreated(ctx: Context) -> list[Entry]:
    risk = ctx.rows(ncd_risk, "risk_pct", "band", time="assessed_at")
    latest = proj.last_per_person(risk["person"], risk["assessed_at"], ctx.people.key.size)
    tx = ctx.rows(ncd_treatment, "atc", "status", time="authored")
    treating = proj.BP_LOWERING_ATC + proj.LIPID_LOWERING_ATC
    drug = np.array([atc.startswith(treating) for atc in tx["atc"].tolist()], dtype=bool)
    on = (tx["status"] == "active") & drug
    treated = np.bincount(tx["person"][on], minlength=ctx.people.key.size) > 0
    pct = proj.take(risk["risk_pct"], latest, np.nan)
    band = proj.take(risk["band"], latest, "")
    assessed = proj.take(risk["assessed_at"], latest, np.datetime64("NaT"))
    hit = np.flatnonzero(ctx.alive & np.isin(band, HIGH_RISK_BANDS) & ~treated)
    hit = hit[np.argsort(-pct[hit], kind="stable")]
    return [
        {"person": i, "risk_pct": round(float(pct[i]), 1), "band": str(band[i]),
         "assessed_at": _iso(assessed[i])}
        for i in hit.tolist()
    ]  # fmt: skip


def undiagnosed_hypertension(ctx: Context) -> list[Entry]:
    bp = ctx.rows(ncd_bp, "systolic", "diastolic", time="taken_at")
    recent = _days(ctx.now - bp["taken_at"]) <= CARE_DAYS
    sbp, dbp = bp["systolic"], bp["diastolic"]
    elevated = recent & ((sbp >= ELEVATED[0]) | (dbp >= ELEVATED[1]))
    severe = recent & ((sbp >= SEVERE[0]) | (dbp >= SEVERE[1]))
    n = ctx.people.key.size
    person, day = bp["person"][elevated], proj.local_day(bp["taken_at"][elevated])
    pairs = np.unique(np.stack([person, day]), axis=1)
    days = np.bincount(pairs[0], minlength=n)
    any_severe = np.bincount(bp["person"][severe], minlength=n) > 0
    hit = np.flatnonzero(ctx.alive & ~ctx.has_hypertension() & ((days >= 2) | any_severe))
    highest = np.full(n, -1.0)
    np.maximum.at(highest, bp["person"][elevated], sbp[elevated])
    hit = hit[np.argsort(-highest[hit], kind="stable")]
    return [
        {"person": i, "elevated_days": int(days[i]), "severe": bool(any_severe[i]),
         "highest_systolic": float(highest[i])}
        for i in hit.tolist()
    ]  # fmt: skip


def lung_screening(ctx: Context) -> list[Entry]:
    smoking = ctx.rows(ncd_smoking, "status", time="taken_at")
    latest = proj.last_per_person(smoking["person"], smoking["taken_at"], ctx.people.key.size)
    status = SMOKING_NAMES[proj.take(smoking["status"], latest, -1)]
    age = ctx.age()
    unknown = np.full(age.shape, np.nan)
    eligible = lung_ct_eligible(age, status, unknown, unknown)
    known = lung_ct_known(age, status, unknown, unknown)
    hit = np.flatnonzero(ctx.alive & (status != "") & (eligible | ~known))
    return [
        {"person": i, "age": int(age[i]), "smoking_status": str(status[i]), "eligible": None,
         "ask": "pack-years" + (" and years since quitting" if status[i] == "former" else "")}
        for i in hit.tolist()
    ]  # fmt: skip


def _first_diagnosis_rows(dx: dict[str, np.ndarray], prefixes: Sequence[str], n: int) -> np.ndarray:
    """For each person, the row of `dx` of their earliest diagnosis among these ICD-10 codes
    (`proj.icd10_in`), -1 if none."""
    rows = np.flatnonzero([proj.icd10_in(c, prefixes) for c in dx["code"].tolist()])
    first = proj.last_per_person(dx["person"][rows], -dx["onset"][rows].astype(np.int64), n)
    return np.where(first >= 0, rows[first] if rows.size else first, -1)


STROKE_RISK_DIAGNOSES = {  # CHA2DS2-VA letter: the ICD-10 codes that give it
    "C": proj.HEART_FAILURE_CODES,
    "H": tuple(sorted(proj.HYPERTENSION_CODES)),
    "D": tuple(sorted(proj.DIABETES_CODES)),
    "S2": proj.STROKE_CODES,
    "V": proj.VASCULAR_CODES,
}


def af_stroke_risk(ctx: Context) -> list[Entry]:
    n = ctx.people.key.size
    dx = ctx.rows(ncd_diagnosis, "source_id", "code", time="onset")
    af = _first_diagnosis_rows(dx, proj.AF_CODES, n)
    found = {
        item: _first_diagnosis_rows(dx, codes, n) for item, codes in STROKE_RISK_DIAGNOSES.items()
    }
    age = ctx.age()
    score, points = cha2ds2_va(age, *(found[item] >= 0 for item in ("C", "H", "D", "S2", "V")))
    advice = cha2ds2_va_advice(score)
    tx = ctx.rows(ncd_treatment, "atc", "status", time="authored")
    oac = np.array([atc.startswith(proj.ANTICOAGULANT_ATC) for atc in tx["atc"].tolist()], bool)
    on = (tx["status"] == "active") & oac
    anticoagulated = np.bincount(tx["person"][on], minlength=n) > 0
    hit = np.flatnonzero(ctx.alive & (af >= 0))
    hit = hit[np.argsort(np.where(np.isnan(score[hit]), 1.0, -score[hit]), kind="stable")]

    def items(i: int) -> list[Entry]:
        out: list[Entry] = []
        for item, _, _ in CHA2DS2_VA_ITEMS:
            if not points[item][i] > 0:
                continue
            row = found[item][i] if item in found else -1
            basis: Entry = (
                {"code": str(dx["code"][row]), "condition": f"Condition/{dx['source_id'][row]}"}
                if row >= 0
                else {"age": int(age[i])}
            )
            out.append({"item": item, "points": int(points[item][i]), **basis})
        return out

    return [
        {"person": i, "age": None if np.isnan(age[i]) else int(age[i]),
         "af_code": str(dx["code"][af[i]]), "af_since": _iso(dx["onset"][af[i]]),
         "score": None if np.isnan(score[i]) else int(score[i]), "items": items(i),
         "advice": str(advice[i]), "anticoagulated": bool(anticoagulated[i])}
        for i in hit.tolist()
    ]  # fmt: skip


KINDS: dict[str, Callable[[Context], list[Entry]]] = {
    "overdue": overdue,
    "uncontrolled": uncontrolled,
    "high-risk-untreated": high_risk_untreated,
    "undiagnosed-htn": undiagnosed_hypertension,
    "lung-screening": lung_screening,
    "af-stroke-risk": af_stroke_risk,
}


class UnknownWorklist(ValueError):
    pass


def worklist(
    engine: Engine, *, kind: str, commune_code: str, now: np.datetime64, named: bool = True
) -> tuple[list[Entry], str | None]:
    """The entries of one worklist of a commune's station as of `now` (UTC), each with the
    person's `patient_id` and (`named`) `name`, and the moment of the store the projections
    show. Raises UnknownWorklist, UnknownPlace."""
    if kind not in KINDS:
        raise UnknownWorklist(f"unknown worklist {kind!r}: one of {', '.join(KINDS)}")
    commune(commune_code)
    with engine.connect() as conn:
        people = proj.people_of(conn, [commune_code])
        entries = [
            {"patient_id": str(people.patient_id[e.pop("person")]), **e}
            for e in KINDS[kind](Context(conn, people, now.astype("datetime64[s]")))
        ]
        if named:
            name_entries(conn, entries)
        as_of = proj.refreshed_as_of(conn)
    return entries, as_of


def name_entries(conn: Connection, entries: list[Entry]) -> None:
    """Add each entry's `name`: the name shown for its Patient (`songkhoe.fhir.names`), None
    for someone without one."""
    ids = [str(e["patient_id"]) for e in entries]
    names: dict[str, str | None] = {}
    for start in range(0, len(ids), 500):
        for content in conn.execute(live("Patient", ids[start : start + 500])).scalars():
            names[content["id"]] = full_name(content) or None
    for e, pid in zip(entries, ids, strict=True):
        e["name"] = names.get(pid)
