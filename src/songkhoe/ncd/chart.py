"""A person's NCD chart: blood-pressure and glucose readings over time, the latest measurements,
the WHO CVD RiskAssessment with the inputs it was computed from (its `basis`), the diagnoses and
active medicines, and the history of visits and calls. Everything is read in one query (the
resources whose `subject` is the person, through the reference index), kept if the caller may
see it, and audited once, as one search. What counts follows the NCD projections' rules
(`songkhoe.ncd.projections`): Observations entered in error or cancelled, refuted diagnoses and
void visits are left out, glucose is in mmol/L; the risk is the NCD WHO CVD assessment
(`songkhoe.ncd.service.is_who_cvd`), not any RiskAssessment."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from songkhoe.auth.caller import Caller
from songkhoe.auth.policy import patients_referenced
from songkhoe.fhir.search import of_subject
from songkhoe.fhir.systems import LOINC, SNOMED
from songkhoe.ncd import projections as proj
from songkhoe.ncd.checkup_codes import CHECKUP_CODE, FOLLOW_UP_CODE
from songkhoe.ncd.contacts import is_worklist_contact
from songkhoe.ncd.scores import bp_grade
from songkhoe.ncd.service import BAND_SYSTEM, is_who_cvd
from songkhoe.terminology import loinc
from songkhoe.timezones import local_date

PLAIN_TYPES = ("Observation", "Encounter", "RiskAssessment", "Condition", "MedicationRequest")
CHART_TYPES = (*PLAIN_TYPES, "Communication")
MEASURES = (
    loinc.BODY_WEIGHT,
    loinc.BODY_HEIGHT,
    loinc.BMI,
    loinc.WAIST,
    loinc.TOTAL_CHOLESTEROL,
    loinc.FASTING_GLUCOSE,
)


def code_of(res: dict) -> str:
    codings = (res.get("code") or {}).get("coding") or [{}]
    return codings[0].get("code", "")


def _number(quantity: dict | None) -> str:
    """A quantity's value and unit ("62.5 kg"), "" without a numeric value."""
    quantity = quantity or {}
    value = quantity.get("value")
    if not isinstance(value, int | float):
        return ""
    return f"{value:g} {quantity.get('unit', '')}".strip()


def describe(res: dict) -> str:
    """A short text for a resource named in a RiskAssessment basis or the history."""
    kind = res.get("resourceType")
    if kind == "Observation":
        label = (res.get("code") or {}).get("text") or code_of(res)
        pressure = proj.blood_pressure(res)
        if pressure is not None:
            value = f"{pressure[0]:g}/{pressure[1]:g} mmHg"
        elif "valueQuantity" in res:
            value = _number(res["valueQuantity"])
        else:
            value = (res.get("valueCodeableConcept") or {}).get("text", "")
        return f"{label}: {value}"
    if kind == "Condition":
        concept = res.get("code") or {}
        coding = (concept.get("coding") or [{}])[0]
        text = concept.get("text") or coding.get("display") or ""
        return " · ".join(part for part in (coding.get("code", ""), text) if part)
    if kind == "MedicationRequest":
        return (res.get("medicationCodeableConcept") or {}).get("text", "")
    if kind == "Encounter":
        return ((res.get("type") or [{}])[0]).get("text", "")
    return kind or ""


@dataclass(frozen=True, slots=True)
class Risk:
    """The person's WHO CVD risk as the chart shows it (`percent` None when the assessment has
    no probability; `band` the chart band's code, "" if none)."""

    percent: float | None
    band: str
    label: str
    day: str


@dataclass(frozen=True, slots=True)
class Chart:
    pressures: list[tuple[date, float, float]]  # (day, systolic, diastolic), oldest first
    glucose: list[tuple[date, float]]  # (day, fasting glucose in mmol/L), oldest first
    latest: list[tuple[str, str, str]]  # (label, value with unit, day)
    bp_grade: str
    risk: Risk | None
    risk_basis: list[tuple[str, str]]  # (day, description)
    history: list[tuple[str, str, str]]  # (day, kind: checkup_visit, contact_call..., detail)
    conditions: list[str]  # diagnoses that count
    medications: list[tuple[str, str]]  # active: (name, dosage)


def _at(res: dict, *names: str) -> str:
    """The UTC time of a resource by the first of these elements it has (NCD rules,
    `songkhoe.ncd.projections.time_of`), else when it was last written."""
    return proj.time_of(res, *names) or proj.utc(res["meta"]["lastUpdated"]) or ""


def _day(utc: str) -> date:
    return date.fromisoformat(local_date(utc))


def risk_of(assessment: dict) -> Risk:
    """What the chart shows of a WHO CVD RiskAssessment, whatever optional parts it lacks."""
    prediction = (assessment.get("prediction") or [{}])[0]
    probability = prediction.get("probabilityDecimal")
    qualitative = prediction.get("qualitativeRisk") or {}
    band = next(iter(proj.codes(qualitative, BAND_SYSTEM)), "")
    return Risk(
        round(probability * 100, 1) if isinstance(probability, int | float) else None,
        band,
        qualitative.get("text") or band,
        local_date(assessment.get("occurrenceDateTime")),
    )


def about(conn: Connection, caller: Caller, patient_id: str) -> dict[str, list[dict]]:
    """The live resources of `CHART_TYPES` whose subject is the person, by type, that the caller
    may see: one query over the reference index instead of a search per type. Communications
    are the calls and visits of the NCD worklists only. The access rule is applied to what is
    found rather than in SQL: a resource of a type without rules of its own that names only
    this person is visible (the caller may see the person, as `open_record` checked); any other
    is kept only if `Access.can_see` it (the rule of the SQL restriction, with the telehealth
    consultations' own rule for Communications)."""
    found: dict[str, dict[str, dict]] = {t: {} for t in CHART_TYPES}
    for res_type, content in conn.execute(of_subject(patient_id, CHART_TYPES)):
        if res_type == "Communication" and not is_worklist_contact(content):
            continue
        plain = res_type in PLAIN_TYPES and patients_referenced(content) <= {patient_id}
        if plain or caller.access.can_see(conn, content):
            found[res_type][content["id"]] = content
    return {t: list(by_id.values()) for t, by_id in found.items()}


def _visit_kind(encounter: dict) -> str:
    codes = {c for ty in encounter.get("type", []) for c in proj.codes(ty, SNOMED)}
    if CHECKUP_CODE in codes:
        return "checkup_visit"
    return "followup_visit" if FOLLOW_UP_CODE in codes else "other_visit"


def load(caller: Caller, patient_id: str) -> Chart:
    """The chart of a person the caller may see (checked by the caller, e.g. `open_record`),
    audited as one search of what it read."""
    with caller.store.engine.connect() as conn:
        record = about(conn, caller, patient_id)

    def observed(obs: dict) -> tuple[str, str]:
        return _at(obs, *proj.OBSERVED), obs["id"]

    observations = sorted(filter(proj.observation_counts, record["Observation"]), key=observed)
    encounters = list(filter(proj.encounter_counts, record["Encounter"]))
    risks = sorted(
        filter(is_who_cvd, record["RiskAssessment"]),
        key=lambda r: proj.utc(r.get("occurrenceDateTime")) or "",
    )
    contacts = record["Communication"]
    history = record["Condition"] + record["MedicationRequest"]
    found = observations + encounters + risks + contacts
    caller.audit_found("search-type", found + history, f"Patient/{patient_id}: chart")
    by_code: dict[str, list[dict]] = {}
    for obs in observations:
        for code in proj.codes(obs.get("code"), LOINC):
            by_code.setdefault(code, []).append(obs)
    pressures = [
        (_day(_at(o, *proj.OBSERVED)), *p)
        for o in observations
        if (p := proj.blood_pressure(o)) is not None
    ]
    per_mmol = proj.LABS[loinc.FASTING_GLUCOSE.code]
    glucose = [
        (_day(_at(o, *proj.OBSERVED)), value)
        for o in by_code.get(loinc.FASTING_GLUCOSE.code, [])
        if (value := proj.mmol(o.get("valueQuantity"), per_mmol)) is not None
    ]
    latest = []
    for measure in MEASURES:
        valued = [o for o in by_code.get(measure.code, []) if _number(o.get("valueQuantity"))]
        if valued:
            last = valued[-1]
            day = _day(_at(last, *proj.OBSERVED)).isoformat()
            latest.append((measure.vi, _number(last["valueQuantity"]), day))
    grade = str(bp_grade([pressures[-1][1]], [pressures[-1][2]])[0]) if pressures else ""
    risk = risks[-1] if risks else None
    everything = {f"{r['resourceType']}/{r['id']}": r for r in found + history}
    basis = []
    for ref in (risk or {}).get("basis", []):
        res = everything.get(ref.get("reference", ""))
        if res is not None:
            stamp = proj.time_of(res, *proj.OBSERVED, "period", "onsetDateTime", "authoredOn")
            basis.append((local_date(stamp), describe(res)))
    events = [(local_date(_at(enc, "period")), _visit_kind(enc), "") for enc in encounters]
    for com in contacts:
        medium = ((com.get("medium") or [{}])[0].get("coding") or [{}])[0].get("code")
        note = " ".join(p.get("contentString", "") for p in com.get("payload", []))
        kind = "contact_call" if medium == "PHONE" else "contact_visit"
        events.append((local_date(_at(com, "sent")), kind, note))
    events.sort(key=lambda e: e[0], reverse=True)
    return Chart(
        pressures,
        glucose,
        latest,
        grade,
        None if risk is None else risk_of(risk),
        basis,
        events,
        [describe(c) for c in record["Condition"] if proj.condition_counts(c)],
        [
            (describe(m), ((m.get("dosageInstruction") or [{}])[0]).get("text") or "")
            for m in record["MedicationRequest"]
            if m.get("status") == "active"
        ],
    )
