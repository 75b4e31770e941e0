"""Referrals (chuyển tuyến) from one facility to another: a ServiceRequest of category referral
(SNOMED CT 3457005 "Patient referral") with the ICD-10 diagnosis, a summary and the reason, and a
Task of the same id owned by the receiving facility (requested → received → completed with the
outcome and the advice for the sending station). The printable letter follows the content of the
Giấy chuyển tuyến form (Thông tư 14/2014/TT-BYT, Phụ lục II).

The receiving facility's doctors and specialists who cannot already see the person get the record
shared with them, with the referral as basis, for 30 days: the time to arrive and be seen
(a referral letter is valid for the episode it was written for; an admitted person's care is
then recorded by the hospital itself). The share is written in the referral's own transaction.
"""

import uuid
from datetime import datetime, timedelta

from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Place, Principal, Role
from songkhoe.auth.policy import Access
from songkhoe.auth.service import user_principal, users_at
from songkhoe.clinical.documents import Document, facility_name, issuing_facility, person_facts
from songkhoe.clinical.records import Share, instant, write
from songkhoe.clinical.staff import practitioner_ref
from songkhoe.fhir.systems import BASE
from songkhoe.places.catalog import UnknownPlace
from songkhoe.places.facilities import facility
from songkhoe.telehealth.models import REFERRAL_CATEGORY, TASK_CODE, Case
from songkhoe.telehealth.service import CaseClosed, CaseError, _text, joined, load_case, task_code
from songkhoe.terminology import icd10
from songkhoe.timezones import local_date

REFERRAL_NUMBER = f"{BASE}/sid/referral"
RECEIVING_ROLES = (Role.DOCTOR, Role.SPECIALIST, Role.RADIOLOGIST)
SHARED_FOR = timedelta(days=30)
OUTCOMES = {
    "treated-returned": ("Đã điều trị, chuyển về tuyến dưới theo dõi",
                         "Treated, returned to the sending station"),
    "admitted": ("Nhập viện điều trị", "Admitted"),
    "referred-on": ("Chuyển tiếp lên tuyến trên", "Referred on to a higher facility"),
}  # fmt: skip


def create_referral(
    caller: Caller,
    *,
    patient_id: str,
    to_facility: str,
    diagnosis: str,
    summary: str,
    reason: str,
    urgent: bool,
    case_id: str | None,
    now: datetime,
) -> Case:
    try:
        target = facility(to_facility)
    except UnknownPlace as exc:
        raise CaseError("to_facility", str(exc)) from None
    diagnosis = diagnosis.strip().upper()
    if not icd10.is_valid(diagnosis):
        raise CaseError("diagnosis", f"unknown ICD-10 code {diagnosis!r} (e.g. I10, J18.9)")
    summary, reason = _text("summary", summary), _text("reason", reason)
    patient = caller.read("read", "Patient", patient_id)
    based_on = []
    if case_id:
        consult = load_case(caller, case_id)
        if consult.patient_id != patient_id:
            raise CaseError("case", "the consultation is about another person")
        based_on = [{"reference": f"ServiceRequest/{case_id}"}]
    origin = issuing_facility(caller.principal, patient)
    referral_id = str(uuid.uuid4())
    stamp = instant(now)
    number = f"CT-{local_date(now).replace('-', '')}-{referral_id[:8].upper()}"
    request = {
        "resourceType": "ServiceRequest",
        "id": referral_id,
        "identifier": [{"system": REFERRAL_NUMBER, "value": number}],
        "basedOn": based_on,
        "status": "active",
        "intent": "order",
        "category": [{"coding": [REFERRAL_CATEGORY]}],
        "priority": "urgent" if urgent else "routine",
        "code": {"coding": [REFERRAL_CATEGORY], "text": "Chuyển tuyến / Referral"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": stamp,
        "requester": practitioner_ref(caller.store, caller.principal),
        "performer": [{"reference": f"Organization/{target.id}", "display": target.name}],
        "reasonCode": [icd10.concept(diagnosis), {"text": reason}],
        "note": [{"text": summary, "time": stamp}],
    }
    if not based_on:
        del request["basedOn"]
    task = {
        "resourceType": "Task",
        "id": referral_id,
        "status": "requested",
        "intent": "order",
        "priority": request["priority"],
        "code": task_code("referral"),
        "focus": {"reference": f"ServiceRequest/{referral_id}"},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": stamp,
        "lastModified": stamp,
        "requester": {"reference": f"Organization/{origin}"},
        "owner": {"reference": f"Organization/{target.id}", "display": target.name},
    }
    shares = [
        Share(user, patient_id, "Chuyển tuyến: cơ sở tiếp nhận", f"ServiceRequest/{referral_id}",
              SHARED_FOR)
        for user in _blind_receivers(caller, patient_id, target.id)
    ]  # fmt: skip
    request, task = write(caller, create=[request, task], share=shares)
    return Case(request, task)


def _blind_receivers(caller: Caller, patient_id: str, facility_id: str) -> list[str]:
    """The receiving facility's clinicians who do not already see the person."""
    engine = caller.store.engine
    with engine.connect() as conn:
        return [
            u
            for u in users_at(conn, Place("facility", facility_id), RECEIVING_ROLES)
            if not Access(user_principal(engine, u)).check_people(conn, {patient_id})
        ]


def at_receiving_site(principal: Principal, case: Case) -> bool:
    """Whether the principal records the referral's arrival and outcome: the receiving
    facility's staff, or an administrator."""
    place = principal.place
    return principal.is_admin or (place.kind == "facility" and place.code == case.performer)


def _check_receiving_site(caller: Caller, case: Case) -> None:
    if not at_receiving_site(caller.principal, case):
        raise CaseError("facility", "only the receiving facility records a referral's arrival")


def receive(caller: Caller, *, case: Case, now: datetime) -> Case:
    """The person arrived at the receiving facility: requested → received."""
    _check_receiving_site(caller, case)
    if case.status != "requested":
        return case
    stamp = instant(now)
    task = {**case.task, "status": "received", "executionPeriod": {"start": stamp},
            "lastModified": stamp}  # fmt: skip
    (task,) = write(caller, update=[task])
    return Case(case.request, task)


def record_outcome(caller: Caller, *, case: Case, outcome: str, advice: str, now: datetime) -> Case:
    """The outcome and the advice for the sending station: the referral is completed, once."""
    _check_receiving_site(caller, case)
    if case.status == "completed":
        raise CaseClosed("status", "the referral's outcome is already recorded")
    if outcome not in OUTCOMES:
        raise CaseError("outcome", f"one of {', '.join(OUTCOMES)}")
    advice = _text("advice", advice)
    stamp = instant(now)
    start = case.task.get("executionPeriod", {}).get("start", stamp)
    task = {
        **case.task,
        "status": "completed",
        "businessStatus": {"text": outcome},
        "executionPeriod": {"start": start, "end": stamp},
        "output": [
            {"type": {"text": "outcome"}, "valueString": OUTCOMES[outcome][0]},
            {"type": {"text": "advice"}, "valueString": advice},
        ],
        "lastModified": stamp,
    }
    task, request = write(caller, update=[task, {**case.request, "status": "completed"}])
    return Case(request, task)


def referrals_for(caller: Caller) -> list[Case]:
    """Referrals the caller may open: to their facility, or sent by them; newest first (a
    person's referrals, on their chart: songkhoe.telehealth.panel)."""
    base = [("code", f"{TASK_CODE}|referral"), ("_sort", "-_lastUpdated"), ("_count", "200")]
    place = caller.principal.place
    tasks = []
    if place.kind == "facility":
        tasks += caller.search("Task", [("owner", f"Organization/{place.code}"), *base])
    sent = caller.search("ServiceRequest",
        [("requester", f"Practitioner/{caller.principal.id}"),
         ("category", f"{REFERRAL_CATEGORY['system']}|{REFERRAL_CATEGORY['code']}"),
         ("_count", "200")],
    )  # fmt: skip
    if sent:
        ids = ",".join(r["id"] for r in sent)
        tasks += caller.search("Task", [("_id", ids), *base])
    return joined(caller, tasks)


def output(case: Case, name: str) -> str | None:
    return next(
        (o.get("valueString") for o in case.task.get("output", []) if o["type"]["text"] == name),
        None,
    )


def letter(caller: Caller, case: Case) -> bytes:
    """The referral letter as a PDF (the person's record read through the caller, audited)."""
    patient = caller.read("read", "Patient", case.patient_id)
    request = case.request
    diagnosis, reason = request["reasonCode"][0], request["reasonCode"][1]["text"]
    coding = diagnosis["coding"][0]
    number = request["identifier"][0]["value"]
    return Document(
        issuer=facility_name(case.sender_facility or ""),
        title="GIẤY CHUYỂN TUYẾN KHÁM BỆNH, CHỮA BỆNH",
        reference=f"Số: {number} · Ngày {local_date(request['authoredOn'])}",
        facts=[
            ("Kính gửi", request["performer"][0].get("display", case.performer)),
            *person_facts(patient),
            ("Chẩn đoán", f"{coding['code']} – {diagnosis['text']}"),
            ("Mức độ", "Khẩn" if request.get("priority") == "urgent" else "Thường"),
        ],
        sections=[
            ("Tóm tắt bệnh án", request["note"][0]["text"]),
            ("Lý do chuyển tuyến", reason),
        ],
        footer=f"Người chuyển: {request['requester'].get('display', '')}",
    ).render()
