"""NCD services over the store: rebuild the projections and each person's CVD risk assessment.

The risk is the WHO 2019 laboratory-based model with the Southeast Asia recalibration (WHO CVD
Risk Chart Working Group, Lancet Glob Health 2019;7:e1332-45; `songkhoe.ncd.scores`), computed
from each person's latest check-up (Encounter SNOMED CT 185349003): the blood pressure, total
cholesterol and smoking status recorded in that encounter, the age on that day, and diabetes as
the paper defines it (a history of diabetes, glucose-lowering medicines, or fasting glucose
>= 7.0 mmol/L). It is stored as a FHIR RiskAssessment (http://hl7.org/fhir/R4/riskassessment.html)
whose `basis` references the resources used; people whose risk cannot be computed (age outside
40-80, no cholesterol drawn, ...) get none.
"""

import uuid
from dataclasses import dataclass

import numpy as np

from songkhoe.db.bulk import insert_tuples
from songkhoe.fhir.queries import live
from songkhoe.fhir.store import ResourceStore, Writer
from songkhoe.fhir.systems import BASE, UCUM
from songkhoe.ncd import projections as proj
from songkhoe.ncd.checkup_codes import CURRENT
from songkhoe.ncd.scores import who_cvd_band, who_cvd_lab, who_cvd_note
from songkhoe.ncd.tables import (
    ncd_bp,
    ncd_diagnosis,
    ncd_lab,
    ncd_person,
    ncd_risk,
    ncd_smoking,
    ncd_treatment,
    ncd_visit,
)
from songkhoe.terminology import loinc

METHOD_SYSTEM = f"{BASE}/CodeSystem/risk-method"
BAND_SYSTEM = f"{BASE}/CodeSystem/who-cvd-risk-band"
METHOD = {
    "coding": [
        {
            "system": METHOD_SYSTEM,
            "code": "who-cvd-2019-lab-sea",
            "display": "WHO 2019 CVD risk, laboratory-based model, Southeast Asia",
        }
    ],
    "text": "WHO 2019 CVD risk (Lancet Glob Health 2019;7:e1332-45), laboratory model, SE Asia",
}
OUTCOME = {"text": "Fatal or non-fatal myocardial infarction or stroke within 10 years"}
TEN_YEARS = {"high": {"value": 10, "unit": "a", "system": UCUM, "code": "a"}}
DIABETES_FPG_MMOL = 7.0
_ID_SPACE = uuid.UUID("5b0f7c1e-9a43-4d0e-8f7a-2c6a1d3e4b50")


@dataclass(frozen=True, slots=True)
class RefreshSummary:
    projections: proj.RefreshReport
    assessed: int  # people with a computable risk
    written: int  # RiskAssessments created or changed


def refresh(*, store: ResourceStore) -> RefreshSummary:
    """Rebuild the projections and the risk assessments from the live resources, in one
    transaction (`songkhoe ncd refresh`)."""
    counts: list[int] = []
    report = proj.rebuild(store, after=lambda writer: counts.extend(_assess(writer)))
    return RefreshSummary(report, *counts)


def assessment_id(patient_id: str) -> str:
    """The id of a person's WHO CVD RiskAssessment: one per person, versioned as it changes."""
    return str(uuid.uuid5(_ID_SPACE, f"who-cvd-lab/{patient_id}"))


def is_who_cvd(res: dict) -> bool:
    """Whether a RiskAssessment is one this module writes: the WHO CVD risk by its `METHOD`
    (other assessments of the person, imported or from other models, are not)."""
    method = METHOD["coding"][0]
    return res.get("resourceType") == "RiskAssessment" and any(
        (c.get("system"), c.get("code")) == (method["system"], method["code"])
        for c in (res.get("method") or {}).get("coding", [])
    )


def _iso(when: np.datetime64) -> str:
    return f"{when}Z"


def _assess(writer: Writer) -> tuple[int, int]:
    """Compute every person's risk from the fresh projections, write the RiskAssessments that
    are new or changed, and fill `ncd_risk`. Returns (assessed, written)."""
    conn = writer.conn
    people = proj.read(
        conn, ncd_person, "patient_id", "sex", "birth_date", where="ORDER BY person_key"
    )
    n = people["patient_id"].size
    visits = proj.read(
        conn, ncd_visit, "person_key", "source_id", "at", where="WHERE kind = 'checkup'"
    )
    last = proj.last_per_person(visits["person_key"], visits["at"], n)
    who = np.flatnonzero(last >= 0)
    encounter = visits["source_id"][last[who]]
    at = visits["at"][last[who]]
    slot = {e: i for i, e in enumerate(encounter.tolist())}

    def at_checkup(
        table, *columns: str, where: str = ""
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rows recorded in each person's latest check-up: (rows, index of the row per person)."""
        rows = proj.read(conn, table, "encounter_id", "source_id", *columns, where=where)
        found = np.full(who.size, -1)
        for i, e in enumerate(rows["encounter_id"].tolist()):
            if e in slot:
                found[slot[e]] = i
        return rows, found

    bp, bp_at = at_checkup(ncd_bp, "systolic")
    chol, chol_at = at_checkup(
        ncd_lab, "value", where=f"WHERE code = '{loinc.TOTAL_CHOLESTEROL.code}'"
    )
    fpg, fpg_at = at_checkup(ncd_lab, "value", where=f"WHERE code = '{loinc.FASTING_GLUCOSE.code}'")
    smoke, smoke_at = at_checkup(ncd_smoking, "status")

    def value(rows: dict[str, np.ndarray], found: np.ndarray, column: str) -> np.ndarray:
        return proj.take(rows[column].astype(float), found, np.nan)

    diagnosed, dx_basis = _known_diabetes(conn, n, who, at)
    glucose = value(fpg, fpg_at, "value")
    diabetes = diagnosed | (glucose >= DIABETES_FPG_MMOL)
    born = proj.to_date(people["birth_date"][who])
    age = (at.astype("datetime64[D]") - born).astype(float) / 365.25
    smoker = value(smoke, smoke_at, "status")
    risk = who_cvd_lab(
        people["sex"][who].astype(str),
        age,
        np.where(np.isnan(smoker), np.nan, smoker == CURRENT),
        diabetes.astype(float),
        value(bp, bp_at, "systolic"),
        value(chol, chol_at, "value"),
    )
    band = who_cvd_band(risk)
    ok = np.flatnonzero(np.isfinite(risk))
    resources = []
    for i in ok.tolist():
        basis = [f"Encounter/{encounter[i]}"]
        basis += [f"Observation/{rows['source_id'][f[i]]}" for rows, f in
                  ((bp, bp_at), (chol, chol_at), (smoke, smoke_at)) if f[i] >= 0]  # fmt: skip
        if glucose[i] >= DIABETES_FPG_MMOL:
            basis.append(f"Observation/{fpg['source_id'][fpg_at[i]]}")
        basis += dx_basis.get(i, [])
        resources.append(
            _risk_assessment(
                people["patient_id"][who[i]], encounter[i], at[i], risk[i], band[i], basis
            )
        )
    written = _write_changed(writer, resources)
    insert_tuples(
        conn,
        ncd_risk,
        [(int(who[i]), r["id"], f"{at[i]}.000000Z", float(risk[i]), str(band[i]))
         for i, r in zip(ok.tolist(), resources, strict=True)],
    )  # fmt: skip
    return len(resources), written


def _known_diabetes(
    conn, people: int, who: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, dict[int, list[str]]]:
    """Whether each assessed person had diabetes diagnosed or glucose-lowering medicines
    prescribed by the day of their check-up, and the references to those resources."""
    dx = proj.read(conn, ncd_diagnosis, "person_key", "source_id", "code", "onset")
    tx = proj.read(conn, ncd_treatment, "person_key", "source_id", "atc", "authored")
    position = np.full(people, -1)
    position[who] = np.arange(who.size)
    basis: dict[int, list[str]] = {}
    for rows, resource_type, code, when, is_diabetes in (
        (dx, "Condition", "code", "onset", lambda c: c[:3] in proj.DIABETES_CODES),
        (tx, "MedicationRequest", "atc", "authored",
         lambda c: c.startswith(proj.GLUCOSE_LOWERING_ATC)),
    ):  # fmt: skip
        slot = position[rows["person_key"]]
        for i, source, c, t in zip(slot.tolist(), rows["source_id"].tolist(),
                                   rows[code].tolist(), rows[when], strict=True):  # fmt: skip
            if i >= 0 and is_diabetes(c) and not (t > at[i]):  # NaT: undated, counts
                basis.setdefault(i, []).append(f"{resource_type}/{source}")
    known = np.zeros(who.size, dtype=bool)
    known[list(basis)] = True
    return known, basis


def _risk_assessment(
    patient_id: str, encounter_id: str, at: np.datetime64, risk: float, band: str, basis: list[str]
) -> dict:
    return {
        "resourceType": "RiskAssessment",
        "id": assessment_id(patient_id),
        "status": "final",
        "method": METHOD,
        "subject": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "occurrenceDateTime": _iso(at),
        "basis": [{"reference": ref} for ref in basis],
        "prediction": [
            {
                "outcome": OUTCOME,
                "probabilityDecimal": float(risk) / 100,
                "qualitativeRisk": {
                    "coding": [{"system": BAND_SYSTEM, "code": band}],
                    "text": f"{band}%",
                },
                "whenRange": TEN_YEARS,
            }
        ],
    }


def _write_changed(writer: Writer, resources: list[dict]) -> int:
    """Create the new RiskAssessments and update the changed ones; returns how many."""
    current = {}
    wanted = {r["id"] for r in resources}
    for content in writer.conn.execute(live("RiskAssessment")).scalars():
        if content["id"] in wanted:
            current[content["id"]] = {k: v for k, v in content.items() if k != "meta"}
    new = [r for r in resources if r["id"] not in current]
    changed = [r for r in resources if r["id"] in current and current[r["id"]] != r]
    writer.create_many(new)
    for res in changed:
        writer.update(res)
    return len(new) + len(changed)


@dataclass(frozen=True, slots=True)
class CheckupInputs:
    """What one check-up recorded for the WHO CVD risk, with the references of the resources that
    hold each value (`urn:uuid:` references of a transaction Bundle being written work too)."""

    encounter: str  # "Encounter/id" or "urn:uuid:..."
    at: str  # the check-up's start, a FHIR dateTime
    systolic: float | None
    bp_ref: str | None
    cholesterol: float | None  # mmol/L
    cholesterol_ref: str | None
    smoking: int | None  # NEVER / FORMER / CURRENT (checkup_codes)
    smoking_ref: str | None
    glucose: float | None  # fasting, mmol/L
    glucose_ref: str | None


@dataclass(frozen=True, slots=True)
class PersonAssessment:
    risk_pct: float | None
    band: str
    note: str  # why the risk cannot be computed ("" when it can)
    diabetes: bool
    resource: dict | None  # the RiskAssessment to write (None when not computable)


def assess_checkup(
    *, patient: dict, inputs: CheckupInputs, history: list[dict]
) -> PersonAssessment:
    """One person's WHO CVD risk from a check-up just recorded, by the rules `refresh` applies to
    everyone: age on the day, diabetes known from `history` (their Conditions and
    MedicationRequests, read through the same projection rules) or fasting glucose >= 7.0 mmol/L,
    and the RiskAssessment with its basis, under the person's one assessment id."""
    on_utc = proj.utc(inputs.at) or ""
    at = np.datetime64(on_utc[:19])
    builder = proj._Builder({patient["id"]: 0})
    for res in history:
        {"Condition": builder.condition, "MedicationRequest": builder.medication_request}.get(
            res.get("resourceType"), lambda _: None
        )(res)
    basis_known = [
        f"Condition/{source}"
        for _, source, code, onset in builder.rows["ncd_diagnosis"]
        if code[:3] in proj.DIABETES_CODES and not (onset and onset > on_utc)
    ]
    basis_known += [
        f"MedicationRequest/{source}"
        for _, source, atc, _, when in builder.rows["ncd_treatment"]
        if atc.startswith(proj.GLUCOSE_LOWERING_ATC) and not (when and when > on_utc)
    ]
    high_glucose = inputs.glucose is not None and inputs.glucose >= DIABETES_FPG_MMOL
    diabetes = bool(basis_known) or high_glucose
    born = proj.to_date([patient.get("birthDate")])
    age = (at.astype("datetime64[D]") - born).astype(float) / 365.25
    nan = float("nan")
    args = (
        np.array([patient.get("gender") or ""]),
        age,
        np.array([nan if inputs.smoking is None else float(inputs.smoking == CURRENT)]),
        np.array([float(diabetes)]),
        np.array([nan if inputs.systolic is None else inputs.systolic]),
        np.array([nan if inputs.cholesterol is None else inputs.cholesterol]),
    )
    risk = float(who_cvd_lab(*args)[0])
    if not np.isfinite(risk):
        return PersonAssessment(None, "", str(who_cvd_note(*args)[0]), diabetes, None)
    band = str(who_cvd_band(np.array([risk]))[0])
    basis = [inputs.encounter]
    basis += [r for r in (inputs.bp_ref, inputs.cholesterol_ref, inputs.smoking_ref) if r]
    if high_glucose and inputs.glucose_ref:
        basis.append(inputs.glucose_ref)
    basis += basis_known
    resource = _risk_assessment(patient["id"], "", at, risk, band, basis)
    resource["encounter"] = {"reference": inputs.encounter}
    return PersonAssessment(risk, band, "", diabetes, resource)
