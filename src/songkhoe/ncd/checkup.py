"""A periodic check-up (khám sức khỏe định kỳ) recorded at the commune station, and read back.

A check-up is saved as one FHIR transaction Bundle through the audited path (`Caller.guard`):
the Encounter (SNOMED CT 185349003), its Observations coded by `songkhoe.ncd.checkup_codes`
(LOINC blood-pressure panel, weight, height, BMI, waist, smoking status, fasting glucose, total
cholesterol) and, when it can be computed, the person's WHO CVD RiskAssessment recomputed from
these very values (`songkhoe.ncd.service.assess_checkup`): all or nothing. The person has one
RiskAssessment, that of their latest check-up (as `songkhoe ncd refresh` computes it): a
check-up dated before the one it comes from leaves it as it is; the transaction writes it with
the version it was compared with (if-match), so a concurrent change makes the comparison again.

The values are those of the check-up form, by its field names: `sbp`, `dbp` (mmHg), `weight`
(kg), `height`, `waist` (cm), `smoking` ("never", "former", "current"), `fpg`, `cholesterol`
(mmol/L); all but the blood pressure and smoking may be missing.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from songkhoe.auth.caller import Caller
from songkhoe.fhir.bundles import process_bundle
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ID_PATTERN, ResourceNotFound, ResourceStore
from songkhoe.fhir.systems import LOINC, SNOMED
from songkhoe.ncd import checkup_codes as coding
from songkhoe.ncd import projections as proj
from songkhoe.ncd.scores import bp_grade
from songkhoe.ncd.service import CheckupInputs, PersonAssessment, assess_checkup, assessment_id
from songkhoe.terminology import loinc
from songkhoe.timezones import VIETNAM, local_date

SMOKING = {"never": coding.NEVER, "former": coding.FORMER, "current": coding.CURRENT}
SMOKING_KEY = {status: key for key, status in SMOKING.items()}
LAB_FIELDS = (("fpg", loinc.FASTING_GLUCOSE), ("cholesterol", loinc.TOTAL_CHOLESTEROL))
ATTEMPTS = 3  # writes of a check-up whose RiskAssessment changed under it


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def build_bundle(patient: dict, values: dict, when: str) -> tuple[list[dict], CheckupInputs]:
    """The transaction entries of a check-up (Encounter + Observations) and the risk inputs."""
    subject = {"reference": f"Patient/{patient['id']}"}
    org = patient.get("managingOrganization")
    encounter_url = _urn()
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": coding.AMBULATORY,
        "type": coding.CHECKUP_TYPE,
        "subject": subject,
        "period": {"start": when, "end": when},
    }
    if org:
        encounter["serviceProvider"] = org
    entries = [(encounter_url, encounter)]
    refs: dict[str, str] = {}

    def observe(key: str, category: list, code: loinc.LoincCode, **value) -> None:
        url = _urn()
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "category": category,
            "code": loinc.concept(code.code),
            "subject": subject,
            "encounter": {"reference": encounter_url},
            "effectiveDateTime": when,
            **value,
        }
        if org:
            obs["performer"] = [org]
        entries.append((url, obs))
        refs[key] = url

    observe(
        "bp",
        coding.VITAL_SIGNS,
        loinc.BP_PANEL,
        component=[
            {
                "code": loinc.concept(loinc.SYSTOLIC_BP.code),
                "valueQuantity": coding.quantity(values["sbp"], "mm[Hg]"),
            },
            {
                "code": loinc.concept(loinc.DIASTOLIC_BP.code),
                "valueQuantity": coding.quantity(values["dbp"], "mm[Hg]"),
            },
        ],
    )
    for key, code in (
        ("weight", loinc.BODY_WEIGHT),
        ("height", loinc.BODY_HEIGHT),
        ("waist", loinc.WAIST),
    ):
        if values.get(key) is not None:
            quantity = coding.quantity(values[key], code.unit)
            observe(key, coding.VITAL_SIGNS, code, valueQuantity=quantity)
    if values.get("weight") and values.get("height"):
        bmi = round(values["weight"] / (values["height"] / 100) ** 2, 1)
        observe("bmi", coding.VITAL_SIGNS, loinc.BMI, valueQuantity=coding.quantity(bmi, "kg/m2"))
    smoking = SMOKING[values["smoking"]]
    observe(
        "smoking",
        coding.SOCIAL_HISTORY,
        loinc.SMOKING_STATUS,
        valueCodeableConcept=coding.SMOKING[smoking],
    )
    for key, code in LAB_FIELDS:
        if values.get(key) is not None:
            quantity = coding.quantity(values[key], "mmol/L")
            observe(key, coding.LABORATORY, code, valueQuantity=quantity)
    inputs = CheckupInputs(
        encounter=encounter_url,
        at=when,
        systolic=values["sbp"],
        bp_ref=refs["bp"],
        cholesterol=values.get("cholesterol"),
        cholesterol_ref=refs.get("cholesterol"),
        smoking=smoking,
        smoking_ref=refs["smoking"],
        glucose=values.get("fpg"),
        glucose_ref=refs.get("fpg"),
    )
    bundle = [
        {"fullUrl": url, "resource": res, "request": {"method": "POST", "url": res["resourceType"]}}
        for url, res in entries
    ]
    return bundle, inputs


def moment(day: date) -> str:
    """The check-up's time: now for today, else 08:00 that day, in Vietnam's time."""
    now = datetime.now(VIETNAM)
    if day == now.date():
        return now.replace(microsecond=0).isoformat()
    return f"{day.isoformat()}T08:00:00+07:00"


def recorded(encounter: dict, observations: list[dict]) -> tuple[dict, CheckupInputs]:
    """What a saved check-up holds, read by the NCD projections' rules: its values as the form
    names them, and the inputs of its risk (references to the stored Observations)."""
    values: dict = dict.fromkeys(("sbp", "dbp", "smoking", "fpg", "cholesterol"))
    refs: dict[str, str] = {}
    for obs in filter(proj.observation_counts, observations):
        ref, found = f"Observation/{obs['id']}", set(proj.codes(obs.get("code"), LOINC))
        pressure = proj.blood_pressure(obs)
        if pressure is not None:
            values["sbp"], values["dbp"] = pressure
            refs["sbp"] = ref
        for key, code in LAB_FIELDS:
            value = proj.mmol(obs.get("valueQuantity"), proj.LABS[code.code])
            if code.code in found and value is not None:
                values[key], refs[key] = value, ref
        answers = proj.codes(obs.get("valueCodeableConcept"), SNOMED)
        status = next(
            (coding.SMOKING_STATUS[a] for a in answers if a in coding.SMOKING_STATUS), None
        )
        if loinc.SMOKING_STATUS.code in found and status is not None:
            values["smoking"], refs["smoking"] = SMOKING_KEY[status], ref
    inputs = CheckupInputs(
        encounter=f"Encounter/{encounter['id']}",
        at=(encounter.get("period") or {}).get("start", ""),
        systolic=values.get("sbp"),
        bp_ref=refs.get("sbp"),
        cholesterol=values.get("cholesterol"),
        cholesterol_ref=refs.get("cholesterol"),
        smoking=SMOKING.get(values["smoking"]),
        smoking_ref=refs.get("smoking"),
        glucose=values.get("fpg"),
        glucose_ref=refs.get("fpg"),
    )
    return values, inputs


def _diabetes_history(caller: Caller, patient_id: str) -> list[dict]:
    """The person's Conditions and MedicationRequests that the caller may see (diabetes known
    before the check-up), not audited: the caller audits them with what it shows."""
    subject = [("subject", f"Patient/{patient_id}"), ("_count", "200")]
    return [r for t in ("Condition", "MedicationRequest") for r in caller.visible(t, subject)]


def _risk_entry(store: ResourceStore, assessment: dict, when: str) -> dict | None:
    """The transaction entry that writes the person's RiskAssessment from a check-up at `when`,
    conditional on the version it is compared with; None when the current one comes from a
    later check-up."""
    risk_id = assessment["id"]
    request = {"method": "PUT", "url": f"RiskAssessment/{risk_id}"}
    try:
        current = store.read("RiskAssessment", risk_id)
    except ResourceNotFound:  # none yet, or deleted: written as it is
        current = None
    if current is not None:
        newer = proj.utc(current.get("occurrenceDateTime"))
        if newer is not None and newer > (proj.utc(when) or ""):
            return None
        request["ifMatch"] = f'W/"{current["meta"]["versionId"]}"'
    return {"resource": assessment, "request": request}


def save_checkup(caller: Caller, patient: dict, values: dict, *, fhir_base: str) -> str:
    """Save a check-up of a person the caller may write for (checked by the caller, e.g.
    `open_record`) with their recomputed risk; returns the Encounter's id. A refused or failed
    transaction raises FhirError (refusals audited); a RiskAssessment changed meanwhile (412)
    makes the comparison again, up to `ATTEMPTS` writes."""
    patient_id = patient["id"]
    when = moment(values["day"])
    history = _diabetes_history(caller, patient_id)
    caller.audit_found("search-type", history, f"Patient/{patient_id}: diabetes history")
    for attempt in range(1, ATTEMPTS + 1):
        entries, inputs = build_bundle(patient, values, when)
        result = assess_checkup(patient=patient, inputs=inputs, history=history)
        if result.resource is not None:
            assessment = {**result.resource, "id": assessment_id(patient_id)}
            entries += [e for e in [_risk_entry(caller.store, assessment, when)] if e is not None]
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        try:
            with caller.refusals("transaction", [f"Patient/{patient_id}"]):
                done = process_bundle(caller.store, bundle, base_url=fhir_base, guard=caller.guard)
        except FhirError as exc:
            if exc.status == 412 and attempt < ATTEMPTS:  # the assessment changed: again
                continue
            raise
        break
    return done["entry"][0]["response"]["location"].split("/")[1]


@dataclass(frozen=True, slots=True)
class SavedCheckup:
    """A saved check-up read back: its `values` as the form names them, its risk recomputed by
    the rules it was saved with, its blood-pressure `grade`, its day and, when the person's
    RiskAssessment comes from a later check-up, that one's day ("" otherwise)."""

    values: dict
    result: PersonAssessment
    grade: str
    day: str
    newer_day: str


def saved_checkup(caller: Caller, patient: dict, encounter_id: str) -> SavedCheckup | None:
    """A check-up of a person the caller has opened, audited as one search; None when the
    caller sees no such check-up of this person (or the Encounter is not one of this form)."""
    patient_id = patient["id"]
    if not ID_PATTERN.fullmatch(encounter_id):
        return None
    found = caller.visible(
        "Encounter", [("_id", encounter_id), ("subject", f"Patient/{patient_id}")]
    )
    if not found:
        return None
    encounter_ref = f"Encounter/{encounter_id}"
    observations = caller.visible("Observation", [("encounter", encounter_ref), ("_count", "100")])
    history = _diabetes_history(caller, patient_id)
    current = caller.visible("RiskAssessment", [("_id", assessment_id(patient_id))])
    caller.audit_found(
        "search-type",
        found + observations + history + current,
        f"Patient/{patient_id}: check-up {encounter_id}",
    )
    values, inputs = recorded(found[0], observations)
    if values["sbp"] is None:  # not a check-up of this form
        return None
    newer = next(
        (
            r.get("occurrenceDateTime")
            for r in current
            if (proj.utc(r.get("occurrenceDateTime")) or "") > (proj.utc(inputs.at) or "")
        ),
        None,
    )
    return SavedCheckup(
        values,
        assess_checkup(patient=patient, inputs=inputs, history=history),
        str(bp_grade([values["sbp"]], [values["dbp"]])[0]),
        local_date(inputs.at),
        local_date(newer),
    )
