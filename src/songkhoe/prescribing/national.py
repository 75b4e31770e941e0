"""Signed prescriptions sent to the national e-prescription system (Thông tư 27/2021/TT-BYT;
QĐ 808/QĐ-BYT), and what came of each send, kept in the record.

The record: one FHIR Task per send (code `dtqg-submission`), `basedOn` the prescription's
MedicationRequests, `for` the person, `identifier` the prescription code, `requester` the doctor.
Its `status` says where the send stands: in-progress (sent, no answer yet), completed (received),
rejected (refused: `statusReason` holds the system's own message) or failed (never delivered);
`businessStatus` names the same state (sent, accepted, rejected, failed) in the project's code
system, `lastModified` is when it was last known, and `note` keeps the look-ups since. A Task,
rather than an extension on the MedicationRequests, because the signed requests stay as signed
(a send is not an amendment of the order), because Task is R4's resource for the state of work
another system does, searchable by status and by what it is based on, and because each send
stays a resource of its own: a rejection and the corrected resend after it are both kept. The
prescription code itself needs no new identifier: the platform makes it in the national format
(codes.py: the facility's 5 characters, 7 random letters or digits, "-" and c/n/h/y, 14 in all,
as the clients of national_client.py make it too) and it is already the MedicationRequests'
identifier; the system takes it as given, it does not issue one.

The doctor's credentials: the system wants each prescription sent under the prescribing doctor's
own account there (mã liên thông bác sĩ and a password). The doctor types the password on the
prescription page when sending; it is used once, for that send's log-in token, and is never
stored, logged or shown. Their national code is kept on their Practitioner (identifier
`.../sid/ma-lien-thong-bac-si`), written once the system has accepted a log-in with it, so the
form offers it next time. The first time a code is used, if the doctor's log-in is refused, the
facility logs in and adds the doctor to the facility (them-bac-si), then the doctor logs in again.
Only the doctor who signed a prescription sends it.

Correction: the national system refuses a code that was sent before, and no endpoint to amend a
prescription was found (national_client.py). So a REJECTED prescription is corrected in the
record (the person's identity numbers, birth date, weight; the prescription's lines through the
FHIR API) and sent again under the same code: the payload is built from the record at each send.
A received one is not sent again; a change after that is a new prescription. A send with no answer
is not repeated blindly either: `check` looks the code up first (held: received; not held:
failed, and it may be sent again).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from songkhoe.auth.caller import Caller
from songkhoe.clinical.records import instant, write
from songkhoe.clinical.staff import practitioner_ref
from songkhoe.fhir.store import VersionConflict
from songkhoe.fhir.systems import BASE
from songkhoe.prescribing.codes import CODE_PATTERN
from songkhoe.prescribing.export import national_payload
from songkhoe.prescribing.national_client import (
    NationalClient,
    NoAnswer,
    Refused,
    Unreachable,
)
from songkhoe.prescribing.service import PRESCRIPTION_CODE, NotPrescriber, load, may_prescribe

TASK_CODE = f"{BASE}/CodeSystem/prescribing-task"
SUBMISSION = "dtqg-submission"
STATE_SYSTEM = f"{BASE}/CodeSystem/dtqg-state"
DOCTOR_CODE = f"{BASE}/sid/ma-lien-thong-bac-si"
SENT, ACCEPTED, REJECTED, FAILED = "sent", "accepted", "rejected", "failed"
TASK_STATUS = {SENT: "in-progress", ACCEPTED: "completed", REJECTED: "rejected", FAILED: "failed"}
STATE_LABELS = {SENT: "Đã gửi, chưa có kết quả", ACCEPTED: "Đã được tiếp nhận",
                REJECTED: "Bị từ chối", FAILED: "Gửi không thành công"}  # fmt: skip
HELD = "Tra cứu: hệ thống quốc gia đang giữ đơn này / look-up: held"
NOT_HELD = "Tra cứu: hệ thống quốc gia không giữ đơn này / look-up: not held"
MAX_DOCTOR_CODE = 64


class NationalStateError(ValueError):
    """A send or a look-up that cannot be done as asked; the message names the field or state."""


@dataclass(frozen=True, slots=True)
class Submission:
    """One send of a prescription, from its Task."""

    task: dict
    state: str
    message: str  # the system's message, or what went wrong
    at: str  # when last known (Task.lastModified)
    doctor_code: str

    @classmethod
    def of(cls, task: dict) -> "Submission":
        return cls(
            task=task,
            state=task["businessStatus"]["coding"][0]["code"],
            message=task.get("statusReason", {}).get("text", ""),
            at=task["lastModified"],
            doctor_code=next((i["valueString"] for i in task.get("input", [])), ""),
        )

    @property
    def notes(self) -> list[dict]:
        return self.task.get("note", [])


def submissions(caller: Caller, code: str) -> list[Submission]:
    """The sends of the prescription `code` the caller may see, newest first (audited)."""
    tasks = caller.search(
        "Task",
        [("identifier", f"{PRESCRIPTION_CODE}|{code}"), ("code", f"{TASK_CODE}|{SUBMISSION}")],
    )
    tasks.sort(key=lambda t: (t["authoredOn"], t["meta"]["lastUpdated"]), reverse=True)
    return [Submission.of(t) for t in tasks]


def doctor_code_of(caller: Caller) -> str:
    """The caller's national code as kept on their Practitioner; "" if none yet."""
    practitioner_ref(caller.store, caller.principal)
    found = caller.store.read("Practitioner", caller.principal.id)
    return next((i["value"] for i in found.get("identifier", []) if i["system"] == DOCTOR_CODE), "")


def _keep_doctor_code(caller: Caller, doctor_code: str) -> None:
    """Keep the caller's national code on their Practitioner (reference data: the server
    writes it, as it created it)."""
    found = caller.store.read("Practitioner", caller.principal.id)
    others = [i for i in found.get("identifier", []) if i["system"] != DOCTOR_CODE]
    found["identifier"] = [*others, {"system": DOCTOR_CODE, "value": doctor_code}]
    try:
        caller.store.update(found, if_match=int(found["meta"]["versionId"]))
    except VersionConflict:  # changed meanwhile: the next send offers the code again
        pass


def _log_in(caller: Caller, client: NationalClient, doctor_code: str, password: str) -> str:
    """The doctor's token; the first time a code is used, the facility adds the doctor if the
    doctor's log-in is refused (module docstring)."""
    known = doctor_code_of(caller)
    try:
        token = client.doctor_token(doctor_code, password)
    except Refused as refused:
        if known == doctor_code:
            raise
        facility = client.facility_token()  # a refused facility log-in is told as such
        try:
            client.add_doctor(facility, doctor_code)
        except Refused:  # e.g. no such doctor: the doctor's own refusal says more
            raise refused from None
        token = client.doctor_token(doctor_code, password)
    if known != doctor_code:
        _keep_doctor_code(caller, doctor_code)
    return token


def _checked_input(code: str, doctor_code: str, password: str) -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise NationalStateError(f"code: {code!r} is not a national prescription code "
                                 "(5 + 7 letters or digits, '-', c/n/h/y)")  # fmt: skip
    doctor_code = doctor_code.strip()
    if (
        not doctor_code
        or len(doctor_code) > MAX_DOCTOR_CODE
        or any(c.isspace() for c in doctor_code)
    ):
        raise NationalStateError(
            "doctor_code: your national prescriber code (mã liên thông bác sĩ), "
            f"1 to {MAX_DOCTOR_CODE} characters without spaces"
        )
    if not password:
        raise NationalStateError("password: your password at the national system is needed")
    return doctor_code


def _task(code: str, requests: list[dict], caller: Caller, doctor_code: str, stamp: str) -> dict:
    first = requests[0]
    return {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": PRESCRIPTION_CODE, "value": code}],
        "basedOn": [{"reference": f"MedicationRequest/{r['id']}"} for r in requests],
        "status": TASK_STATUS[SENT],
        "businessStatus": _state(SENT),
        "intent": "order",
        "code": {
            "coding": [{"system": TASK_CODE, "code": SUBMISSION}],
            "text": "Gửi đơn thuốc lên Hệ thống đơn thuốc quốc gia",
        },
        "focus": {"reference": f"MedicationRequest/{first['id']}"},
        "for": first["subject"],
        "authoredOn": stamp,
        "lastModified": stamp,
        "executionPeriod": {"start": stamp},
        "requester": practitioner_ref(caller.store, caller.principal),
        "input": [
            {"type": {"text": "ma_lien_thong_bac_si"}, "valueString": doctor_code},
        ],
    }


def _state(state: str) -> dict:
    return {"coding": [{"system": STATE_SYSTEM, "code": state}], "text": STATE_LABELS[state]}


def _settle(task: dict, state: str, message: str, stamp: str) -> dict:
    """The Task in `state`, with the system's message (or what went wrong) as its reason."""
    settled = {**task, "status": TASK_STATUS[state], "businessStatus": _state(state),
               "lastModified": stamp}  # fmt: skip
    if message:
        settled["statusReason"] = {"text": message}
    if state != SENT:
        settled["executionPeriod"] = {**task.get("executionPeriod", {}), "end": stamp}
    return settled


def send(
    caller: Caller,
    code: str,
    *,
    doctor_code: str,
    password: str,
    client: NationalClient,
    now: datetime,
) -> Submission:
    """Send (or, after a rejection or a failure, send again) the prescription `code` under the
    signing doctor's national account, and record the outcome. A refused log-in raises Refused
    and records nothing: nothing was sent."""
    if not may_prescribe(caller.principal):
        raise NotPrescriber
    doctor_code = _checked_input(code, doctor_code, password)
    prescription = load(caller, code)
    if (
        prescription.requests[0]["requester"].get("reference")
        != f"Practitioner/{caller.principal.id}"
    ):
        raise NationalStateError("prescriber: only the doctor who signed a prescription sends it")
    history = submissions(caller, code)
    if history and history[0].state == ACCEPTED:
        raise NationalStateError("state: already received by the national system, which refuses "
                                 "a code sent before; a change is a new prescription")  # fmt: skip
    if history and history[0].state == SENT:
        raise NationalStateError("state: the last send has no answer yet; check its status first")
    patient = caller.read("read", "Patient", prescription.patient_id)
    payload = national_payload(prescription, patient)
    token = _log_in(caller, client, doctor_code, password)
    [task] = write(caller, create=[_task(code, prescription.requests, caller, doctor_code,
                                          instant(now))])  # fmt: skip
    try:
        outcome = (ACCEPTED, client.send(token, payload).message)
    except Refused as exc:
        outcome = (REJECTED, exc.message)
    except Unreachable as exc:
        outcome = (FAILED, str(exc))
    except NoAnswer as exc:
        outcome = (SENT, str(exc))
    [task] = write(caller, update=[_settle(task, *outcome, instant(now))])
    return Submission.of(task)


def check(caller: Caller, code: str, *, client: NationalClient, now: datetime) -> Submission:
    """Look the prescription up at the national system and record what it says on the last send:
    held means received; not held settles a send that had no answer as failed."""
    if not may_prescribe(caller.principal):
        raise NotPrescriber
    load(caller, code)
    history = submissions(caller, code)
    if not history:
        raise NationalStateError("state: not sent to the national system yet")
    latest = history[0]
    held = client.lookup(code) is not None
    stamp = instant(now)
    note = {"time": stamp, "text": HELD if held else NOT_HELD}
    task = {**latest.task, "note": [*latest.notes, note], "lastModified": stamp}
    if held and latest.state != ACCEPTED:
        task = _settle(task, ACCEPTED, HELD, stamp)
    elif not held and latest.state == SENT:
        task = _settle(task, FAILED, NOT_HELD, stamp)
    [task] = write(caller, update=[task])
    return Submission.of(task)
