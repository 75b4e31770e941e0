"""E-prescriptions: check, then sign, a prescription for a person.

Signing writes, in one transaction, one MedicationRequest per line (status active, intent
order; all sharing the prescription code as identifier and groupIdentifier) and one DetectedIssue
per warning the prescriber acknowledged (mitigation: acknowledged by the author, with the time).
A prescription with an unacknowledged warning is not signed. Every read of the record (current
medicines, allergies) and every write goes through the caller: access policy and audit trail.

Who signs: physicians and assistant physicians (bác sỹ, y sỹ), the prescribers of Thông tư
52/2017/TT-BYT (Điều 2, người được kê đơn thuốc; amended by Thông tư 18/2018/TT-BYT): the roles
doctor and specialist, and the commune health worker, since a commune station's prescribers are
its physician and assistant physicians (y sỹ). Radiologists (reading images), managers and
administrators do not prescribe here. The account holds no qualification: a commune station's
nurse or midwife must not be given a role that prescribes (UNVERIFIED against the circular's
own text, not reachable from here).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.auth.models import Principal, Role
from songkhoe.clinical.documents import facility_name, issuing_facility
from songkhoe.clinical.records import instant, parse_instant, write
from songkhoe.clinical.staff import practitioner_ref
from songkhoe.fhir.systems import ATC, BASE
from songkhoe.places.catalog import UnknownPlace
from songkhoe.prescribing.catalogue import ROUTES, by_atc
from songkhoe.prescribing.checks import Allergy, Issue, Medicine, check
from songkhoe.prescribing.codes import prescription_code
from songkhoe.prescribing.dosing import Line
from songkhoe.terminology import icd10

PRESCRIPTION_CODE = f"{BASE}/sid/ma-don-thuoc"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ISSUE_CODE = {"interaction": "DRG", "duplicate-ingredient": "DUPTHPY",
              "duplicate-class": "DUPTHPY", "allergy": "ALGY"}  # fmt: skip
ISSUE_SEVERITY = {"contraindicated": "high", "major": "high", "moderate": "moderate"}
PRESCRIBERS = frozenset({Role.DOCTOR, Role.SPECIALIST, Role.COMMUNE_HEALTH_WORKER})
MAX_ADVICE = 1000
UCUM_DAYS = {"h": 1 / 24, "d": 1, "wk": 7, "mo": 30, "a": 365}  # expectedSupplyDuration units


class PrescriptionError(ValueError):
    """A prescription that cannot be signed as asked; the message names the field."""


class NotPrescriber(PrescriptionError):
    def __init__(self) -> None:
        super().__init__("role: only physicians and assistant physicians prescribe")


class Unacknowledged(PrescriptionError):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"warnings: {len(issues)} warning(s) must be acknowledged to sign")
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Prescription:
    code: str
    patient_id: str
    requests: list[dict]
    issues: list[dict]  # DetectedIssue

    @property
    def authored(self) -> str:
        return self.requests[0]["authoredOn"]

    @property
    def facility_id(self) -> str:
        """The prescribing facility (the assigner of the prescription code)."""
        return self.requests[0]["identifier"][0]["assigner"]["reference"].removeprefix(
            "Organization/"
        )

    @property
    def diagnoses(self) -> list[dict]:
        return self.requests[0].get("reasonCode", [])


def may_prescribe(principal: Principal) -> bool:
    return principal.kind == "user" and principal.role in PRESCRIBERS


def is_current(request: dict, now: datetime) -> bool:
    """Whether an active MedicationRequest is still being taken: until authoredOn + its
    expectedSupplyDuration (a signed course ends; its status stays active). Without either,
    from another system, it counts as current (a long-term medicine)."""
    supply = request.get("dispenseRequest", {}).get("expectedSupplyDuration", {})
    days = UCUM_DAYS.get(supply.get("code") or supply.get("unit", ""))
    if "authoredOn" not in request or "value" not in supply or days is None:
        return True
    end = parse_instant(request["authoredOn"]) + timedelta(days=supply["value"] * days)
    return end >= now


def _on_record(
    caller: Caller, patient_id: str, now: datetime
) -> tuple[list[Medicine], list[Allergy]]:
    """The medicines the person takes now (active MedicationRequests whose course has not
    ended) and their allergies."""
    subject = ("subject", f"Patient/{patient_id}")
    current = []
    active = caller.search("MedicationRequest", [subject, ("status", "active"), ("_count", "200")])
    for request in (r for r in active if is_current(r, now)):
        concept = request.get("medicationCodeableConcept", {})
        atc = next((c["code"] for c in concept.get("coding", []) if c.get("system") == ATC), "")
        known = by_atc(atc)
        ingredients = known.ingredients if known else (concept.get("text", "").lower(),)
        current.append(Medicine(concept.get("text", atc), atc, ingredients, new=False))
    allergies = [
        Allergy(
            tuple(c["code"] for c in a.get("code", {}).get("coding", []) if c.get("system") == ATC),
            a.get("code", {}).get("text", "")
            or " ".join(c.get("display", "") for c in a.get("code", {}).get("coding", [])),
        )  # fmt: skip
        for a in caller.search("AllergyIntolerance", [("patient", f"Patient/{patient_id}")])
        if (a.get("clinicalStatus", {}).get("coding") or [{}])[0].get("code", "active") == "active"
    ]
    return current, allergies


def review(caller: Caller, *, patient_id: str, lines: list[Line], now: datetime) -> list[Issue]:
    """The warnings for these lines, given the person's record (read through the caller)."""
    if not may_prescribe(caller.principal):
        raise NotPrescriber
    caller.read("read", "Patient", patient_id)
    current, allergies = _on_record(caller, patient_id, now)
    return check([Medicine.of(line.drug) for line in lines] + current, allergies)


def sign(
    caller: Caller,
    *,
    patient_id: str,
    lines: list[Line],
    diagnoses: list[str],
    acknowledged: set[str],
    advice: str,
    now: datetime,
) -> Prescription:
    """Sign a prescription; Unacknowledged (with the issues) if a warning is not acknowledged."""
    if not may_prescribe(caller.principal):
        raise NotPrescriber
    if not lines:
        raise PrescriptionError("lines: a prescription needs at least one medicine")
    codes = [d.strip().upper() for d in diagnoses if d.strip()]
    if not codes:
        raise PrescriptionError("diagnosis: at least one ICD-10 code")
    for code in codes:
        if not icd10.is_valid(code):
            raise PrescriptionError(f"diagnosis: unknown ICD-10 code {code!r}")
    advice = advice.strip()
    if len(advice) > MAX_ADVICE:
        raise PrescriptionError(f"advice: at most {MAX_ADVICE} characters, got {len(advice)}")
    patient = caller.read("read", "Patient", patient_id)
    current, allergies = _on_record(caller, patient_id, now)
    issues = check([Medicine.of(line.drug) for line in lines] + current, allergies)
    missing = [i for i in issues if i.key not in acknowledged]
    if missing:
        raise Unacknowledged(missing)
    site = issuing_facility(caller.principal, patient)
    try:
        code = prescription_code(site)
    except UnknownPlace:
        raise PrescriptionError("facility: the prescriber's facility is unknown") from None
    author = practitioner_ref(caller.store, caller.principal)
    stamp = instant(now)
    request_ids = [str(uuid.uuid4()) for _ in lines]
    issue_resources = [
        _detected_issue(i, patient_id=patient_id, request_ids=request_ids, author=author,
                        stamp=stamp)
        for i in issues
    ]  # fmt: skip
    requests = [
        _request(
            sequence=n, line=line, request_id=rid, code=code, site=site, patient_id=patient_id,
            diagnoses=codes, author=author, stamp=stamp, advice=advice, issues=issue_resources,
        )
        for n, (line, rid) in enumerate(zip(lines, request_ids, strict=True), start=1)
    ]  # fmt: skip
    write(caller, create=[*issue_resources, *requests])
    return Prescription(code, patient_id, requests, issue_resources)


def _detected_issue(
    issue: Issue, *, patient_id: str, request_ids: list[str], author: dict, stamp: str
) -> dict:
    return {
        "resourceType": "DetectedIssue",
        "id": str(uuid.uuid4()),
        "status": "final",
        "code": {
            "coding": [{"system": ACT_CODE, "code": ISSUE_CODE[issue.kind]}],
            "text": issue.kind,
        },  # fmt: skip
        "severity": ISSUE_SEVERITY[issue.severity],
        "patient": {"reference": f"Patient/{patient_id}"},
        "identifiedDateTime": stamp,
        "author": author,
        "implicated": [{"reference": f"MedicationRequest/{rid}"} for rid in request_ids],
        "detail": f"{issue.message_vi} (nguồn: {issue.source})",
        "mitigation": [
            {
                "action": {"text": "Người kê đơn đã xem và chấp nhận cảnh báo / acknowledged"},
                "date": stamp,
                "author": author,
            }
        ],
    }


def _request(
    *,
    sequence: int,
    line: Line,
    request_id: str,
    code: str,
    site: str,
    patient_id: str,
    diagnoses: list[str],
    author: dict,
    stamp: str,
    advice: str,
    issues: list[dict],
) -> dict:
    """The MedicationRequest of one line (`sequence` from 1)."""
    assigner = {"reference": f"Organization/{site}", "display": facility_name(site)}
    identifier = {"system": PRESCRIPTION_CODE, "value": code, "assigner": assigner}
    request = {
        "resourceType": "MedicationRequest",
        "id": request_id,
        "identifier": [identifier],
        "groupIdentifier": identifier,
        "status": "active",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "outpatient",
                    }
                ]
            }
        ],  # fmt: skip
        "medicationCodeableConcept": line.drug.concept(),
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": stamp,
        "requester": author,
        "reasonCode": [icd10.concept(c) for c in diagnoses],
        "dosageInstruction": [
            {
                "sequence": sequence,
                "text": line.instruction,
                "timing": {
                    "repeat": {
                        "frequency": line.per_day,
                        "period": 1,
                        "periodUnit": "d",
                        "boundsDuration": {
                            "value": line.days,
                            "unit": "d",
                            "system": "http://unitsofmeasure.org",
                            "code": "d",
                        },
                    }
                },
                "route": {"text": ROUTES[line.drug.route][0]},
                "doseAndRate": [{"doseQuantity": {"value": line.dose, "unit": line.dose_unit}}],
            }
        ],  # fmt: skip
        "dispenseRequest": {
            "quantity": {"value": line.quantity, "unit": line.drug.unit_vi},
            "expectedSupplyDuration": {
                "value": line.days,
                "unit": "d",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },  # fmt: skip
    }
    if advice:
        request["note"] = [{"text": advice}]
    if issues:
        request["detectedIssue"] = [{"reference": f"DetectedIssue/{i['id']}"} for i in issues]
    return request


def load(caller: Caller, code: str) -> Prescription:
    """A signed prescription by its code, if the caller may see it (audited); else 404."""
    requests = caller.search("MedicationRequest", [("identifier", f"{PRESCRIPTION_CODE}|{code}")])
    if not requests:
        raise not_found("MedicationRequest", code)
    requests.sort(key=lambda r: r["dosageInstruction"][0].get("sequence", 0))
    patient_id = requests[0]["subject"]["reference"].removeprefix("Patient/")
    issue_ids = sorted({i["reference"].removeprefix("DetectedIssue/")
                        for r in requests for i in r.get("detectedIssue", [])})  # fmt: skip
    issues = caller.search("DetectedIssue", [("_id", ",".join(issue_ids))]) if issue_ids else []
    return Prescription(code, patient_id, requests, issues)


def prescription_codes(requests: list[dict]) -> list[str]:
    """The codes of the prescriptions signed here (their groupIdentifier) among these
    MedicationRequests, newest first."""
    signed = [
        r for r in requests if r.get("groupIdentifier", {}).get("system") == PRESCRIPTION_CODE
    ]
    signed.sort(key=lambda r: r.get("authoredOn", ""), reverse=True)  # instants in UTC
    return list(dict.fromkeys(r["groupIdentifier"]["value"] for r in signed))
