"""Case reports of notifiable diseases as FHIR R4 Conditions (pure: no database).

The shape (http://hl7.org/fhir/R4/condition.html), one Condition per case:
- `category`: `notifiable-disease` (project CodeSystem) and the law's group A/B;
- `code`: the ICD-10 code as reported (A90/A91 or A97.x for dengue) and the project's disease
  code (`diseases.DISEASE_SYSTEM`), which aggregation counts by;
- `subject`: the Patient; `onsetDateTime`: the date of onset (a date, local to Vietnam);
  `recordedDate`: when it was reported;
- `verificationStatus`: `provisional` for a suspected or probable case, `confirmed` for a
  laboratory-confirmed one (the case classification of Circular 54/2015 is kept as text);
- extension `case-commune` (valueCode: the 5-digit commune code): the commune where the person
  lived at onset, which aggregation counts the case in. It is fixed at reporting time, so a later
  move of the person's registration does not move past cases.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from songkhoe.fhir.systems import BASE, CONDITION_CLINICAL, CONDITION_VERIFICATION, EXT_COMMUNE
from songkhoe.places.catalog import UnknownPlace, commune
from songkhoe.surveillance.diseases import Disease, UnknownDisease, by_icd10, category, concept
from songkhoe.surveillance.diseases import resolve as resolve_disease

EXT_CASE_COMMUNE = f"{BASE}/StructureDefinition/case-commune"
CLASSIFICATIONS = {  # case classification -> (verificationStatus, Vietnamese text)
    "suspected": ("provisional", "Ca bệnh nghi ngờ"),
    "probable": ("provisional", "Ca bệnh có thể"),
    "confirmed": ("confirmed", "Ca bệnh xác định"),
}
EARLIEST_ONSET = date(2000, 1, 1)
FIELDS = ("patient", "disease", "icd10", "onset", "commune", "classification", "note")


class CaseError(ValueError):
    """An invalid case report; `field` names the input field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class CaseInput:
    """A validated case report, before the commune default is filled in from the person."""

    patient_id: str
    disease: Disease
    icd10: str
    onset: date
    commune_code: str | None
    classification: str
    note: str | None


def _text(payload: dict[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CaseError(field, f"expected text, got {type(value).__name__}")
    return value.strip() or None


def parse_case(payload: Any, *, today: date) -> CaseInput:
    """Validate a case report (a JSON object or a form); CaseError names the first bad field.
    `disease` is a disease key or an ICD-10 code; `icd10` (optional) must belong to it."""
    if not isinstance(payload, dict):
        raise CaseError("body", "expected a JSON object")
    unknown = sorted(set(payload) - set(FIELDS) - {"csrf"})
    if unknown:
        raise CaseError(unknown[0], f"unknown field (expected {', '.join(FIELDS)})")
    patient_id = _text(payload, "patient")
    if patient_id is None:
        raise CaseError("patient", "required (the id of the person)")
    disease_text = _text(payload, "disease")
    if disease_text is None:
        raise CaseError("disease", "required (a disease code such as 'dengue' or an ICD-10 code)")
    try:
        found = resolve_disease(disease_text)
    except UnknownDisease as exc:
        raise CaseError("disease", str(exc)) from None
    icd = _text(payload, "icd10")
    if icd is None:
        icd = found.icd10[0] if disease_text == found.key else disease_text.upper()
    else:
        icd = icd.upper()
        try:
            if by_icd10(icd) != found:
                raise CaseError("icd10", f"{icd} is not a code of {found.name_en}")
        except UnknownDisease as exc:
            raise CaseError("icd10", str(exc)) from None
    onset_text = _text(payload, "onset")
    if onset_text is None:
        raise CaseError("onset", "required (the date of onset, YYYY-MM-DD)")
    try:
        onset = date.fromisoformat(onset_text)
    except ValueError:
        raise CaseError("onset", f"{onset_text!r} is not a date (YYYY-MM-DD)") from None
    if onset > today:
        raise CaseError("onset", f"{onset} is in the future (today is {today})")
    if onset < EARLIEST_ONSET:
        raise CaseError("onset", f"{onset} is before {EARLIEST_ONSET}")
    commune_code = _text(payload, "commune")
    if commune_code is not None:
        try:
            commune(commune_code)
        except UnknownPlace as exc:
            raise CaseError("commune", str(exc)) from None
    classification = _text(payload, "classification") or "suspected"
    if classification not in CLASSIFICATIONS:
        raise CaseError(
            "classification", f"{classification!r} is not one of {', '.join(CLASSIFICATIONS)}"
        )
    return CaseInput(
        patient_id, found, icd, onset, commune_code, classification, _text(payload, "note")
    )


def home_commune(patient: dict[str, Any]) -> str | None:
    """The commune a person lives in: their home address's commune code, else the commune of
    the station that manages them."""
    for address in patient.get("address", []):
        for ext in address.get("extension", []):
            if ext.get("url") == EXT_COMMUNE and address.get("use", "home") == "home":
                return ext.get("valueCode")
    org = (patient.get("managingOrganization") or {}).get("reference", "")
    return org.removeprefix("Organization/tyt-") if org.startswith("Organization/tyt-") else None


def case_condition(case: CaseInput, *, commune_code: str, recorded: str) -> dict[str, Any]:
    """The Condition of a validated case report, counted in `commune_code`."""
    verification, classification_vi = CLASSIFICATIONS[case.classification]
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "extension": [{"url": EXT_CASE_COMMUNE, "valueCode": commune_code}],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {
            "coding": [{"system": CONDITION_VERIFICATION, "code": verification}],
            "text": classification_vi,
        },
        "category": [category(case.disease)],
        "code": concept(case.disease, case.icd10),
        "subject": {"reference": f"Patient/{case.patient_id}"},
        "onsetDateTime": case.onset.isoformat(),
        "recordedDate": recorded,
    }
    if case.note:
        condition["note"] = [{"text": case.note}]
    return condition


EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})


def case_commune(condition: dict[str, Any]) -> str | None:
    """The commune a case counts in (the `case-commune` extension)."""
    for ext in condition.get("extension", []):
        if ext.get("url") == EXT_CASE_COMMUNE:
            return ext.get("valueCode")
    return None


def counts_as_case(condition: dict[str, Any]) -> bool:
    """Whether a case report counts: not refuted nor entered in error."""
    codes = {c.get("code") for c in condition.get("verificationStatus", {}).get("coding", [])}
    return not codes & EXCLUDED_VERIFICATION
