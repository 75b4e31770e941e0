"""Consultations: a commune or district clinician opens a case for a person, routed to a
specialty queue; a specialist accepts, chats, and answers with a structured recommendation.

Who may open a case: only the assigned specialist (Task.owner) among specialists, and whoever
sees the person anyway (the referring clinician, the commune and district staff), through the
access policy of songkhoe.auth; every read and write is audited (songkhoe.auth.caller). The
person's record is shared with the assigned specialist (and, on escalation, the backup) under a
recorded reason whose basis is the ServiceRequest (Decree 13/2023/NĐ-CP, art. 11).
"""

import base64
import secrets
import uuid
from datetime import datetime

import orjson

from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.auth.models import Role
from songkhoe.config import get_settings
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceNotFound
from songkhoe.telehealth.models import (
    ATTACHMENT_TYPES,
    CONSULT_CATEGORY,
    MESSAGE_CATEGORY,
    RECOMMENDATION_TYPE,
    RECOMMENDED_ACTIONS,
    TASK_CODE,
    URGENCIES,
    Case,
)
from songkhoe.telehealth.queues import QueueError, queue
from songkhoe.telehealth.records import instant, search, write
from songkhoe.telehealth.staff import practitioner_ref, user_of, user_ref
from songkhoe.terminology import icd10

MAX_TEXT = 4000


class CaseError(ValueError):
    """Bad input for a case; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _text(field: str, value: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CaseError(field, "required")
    if len(value) > MAX_TEXT:
        raise CaseError(field, f"at most {MAX_TEXT} characters")
    return value


def task_code(code: str) -> dict:
    return {"coding": [{"system": TASK_CODE, "code": code}]}


def video_room() -> str:
    """A Jitsi Meet room with an unguessable name (128 random bits) on SONGKHOE_JITSI_URL."""
    return f"{get_settings().jitsi_url.rstrip('/')}/SongKhoe-{secrets.token_urlsafe(16)}"


def open_case(
    caller: Caller,
    *,
    patient_id: str,
    queue_id: str,
    urgency: str,
    question: str,
    attachments: list[str],
    now: datetime,
) -> Case:
    """Open a consultation; the case goes to the queue's first specialist and the person's
    record is shared with them."""
    question = _text("question", question)
    if urgency not in URGENCIES:
        raise CaseError("urgency", f"one of {', '.join(URGENCIES)}")
    try:
        target = queue(caller.store, queue_id)
    except QueueError as exc:
        raise CaseError("queue", str(exc)) from None
    caller.read("read", "Patient", patient_id)  # 404 for a person the caller cannot see
    supporting = [_attachment(caller, ref, patient_id) for ref in attachments]
    level = URGENCIES[urgency]
    case_id = str(uuid.uuid4())
    requester = practitioner_ref(caller.store, caller.principal)
    specialist = target.specialists[0]
    stamp = instant(now)
    request = {
        "resourceType": "ServiceRequest",
        "id": case_id,
        "status": "active",
        "intent": "order",
        "category": [{"coding": [CONSULT_CATEGORY]}],
        "priority": level.priority,
        "code": {"text": "Hội chẩn từ xa / Telehealth consultation"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": stamp,
        "requester": requester,
        "performer": [{"reference": f"Organization/{target.id}", "display": target.name}],
        "note": [{"text": question, "time": stamp}],
        "supportingInfo": [{"reference": ref} for ref in supporting],
    }
    task = {
        "resourceType": "Task",
        "id": case_id,
        "status": "requested",
        "intent": "order",
        "priority": level.priority,
        "code": task_code("consultation"),
        "focus": {"reference": f"ServiceRequest/{case_id}"},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": stamp,
        "lastModified": stamp,
        "requester": requester,
        "owner": user_ref(caller.store, specialist),
        "restriction": {"period": {"start": stamp, "end": instant(now + level.target)}},
        "input": [{"type": {"text": "video-room"}, "valueUrl": video_room()}],
    }
    write(caller, create=[request, task])
    caller.share(
        user_id=specialist,
        patient_id=patient_id,
        reason="Hội chẩn từ xa: chuyên gia được phân công",
        basis=f"ServiceRequest/{case_id}",
    )
    return Case(request, task)


def _attachment(caller: Caller, ref: str, patient_id: str) -> str:
    resource_type, _, resource_id = ref.strip().partition("/")
    if resource_type not in ATTACHMENT_TYPES or not resource_id:
        raise CaseError("attachments", f"{ref!r} is not one of {', '.join(ATTACHMENT_TYPES)}/id")
    try:
        content = caller.read("read", resource_type, resource_id)
    except (ResourceNotFound, FhirError):  # refused reads look like missing ones (audited)
        raise CaseError("attachments", f"{ref} does not exist") from None
    if f'"Patient/{patient_id}"' not in orjson.dumps(content).decode():
        raise CaseError("attachments", f"{ref} is not about this person")
    return f"{resource_type}/{resource_id}"


def load_case(caller: Caller, case_id: str, *, code: str = "consultation") -> Case:
    """A case the caller may open (audited); the same 404 as for a case that does not exist
    otherwise. A specialist opens only the cases assigned to them."""
    try:
        request = caller.read("read", "ServiceRequest", case_id)
        task = caller.read("read", "Task", case_id)
    except ResourceNotFound:
        raise not_found("ServiceRequest", case_id) from None
    case = Case(request, task)
    if task.get("code") != task_code(code) or not may_open(caller, case):
        caller.audit("read", [f"ServiceRequest/{case_id}"], outcome="refused")
        raise not_found("ServiceRequest", case_id)
    return case


def may_open(caller: Caller, case: Case) -> bool:
    """Beyond the access policy: a specialist opens the cases assigned to them or opened by
    them, and the referrals to their facility."""
    p = caller.principal
    if p.role != Role.SPECIALIST:
        return True
    at_receiving_site = p.place.kind == "facility" and p.place.code == case.performer
    return p.id in (case.owner_id, case.requester_id) or at_receiving_site


def _touch(task: dict, now: datetime, **changes) -> dict:
    return {**task, **changes, "lastModified": instant(now)}


def accept(caller: Caller, case: Case, now: datetime) -> Case:
    """The assigned specialist takes the case: requested → accepted."""
    if caller.principal.id != case.owner_id:
        raise CaseError("owner", "only the assigned specialist accepts a case")
    if case.status != "requested":
        return case
    task = _touch(case.task, now, status="accepted")
    write(caller, update=[task])
    return Case(case.request, task)


def post_message(caller: Caller, case: Case, text: str, now: datetime) -> dict:
    """A chat message on the case, kept as a Communication; the specialist's first message
    moves an accepted case to in-progress."""
    message = {
        "resourceType": "Communication",
        "id": str(uuid.uuid4()),
        "status": "completed",
        "category": [{"coding": [{"system": MESSAGE_CATEGORY, "code": "chat"}]}],
        "basedOn": [{"reference": f"ServiceRequest/{case.id}"}],
        "subject": {"reference": f"Patient/{case.patient_id}"},
        "sent": instant(now),
        "sender": practitioner_ref(caller.store, caller.principal),
        "payload": [{"contentString": _text("text", text)}],
    }
    updates = []
    task = caller.store.read("Task", case.id)  # the current version: a chat outlives a page
    if caller.principal.id == user_of(task.get("owner")) and task["status"] in (
        "requested",
        "accepted",
    ):
        updates.append(_touch(task, now, status="in-progress"))
    write(caller, create=[message], update=updates)
    return message


def messages(caller: Caller, case: Case) -> list[dict]:
    """The case's chat messages and recommendation, oldest first."""
    found = search(
        caller,
        "Communication",
        [
            ("based-on", f"ServiceRequest/{case.id}"),
            ("_sort", "sent,_lastUpdated"),
            ("_count", "1000"),
        ],
    )
    return found


def recommend(
    caller: Caller,
    case: Case,
    *,
    action: str,
    advice: str,
    diagnosis: str,
    refer_to: str,
    now: datetime,
) -> dict:
    """The specialist's answer: a Communication with the advice as text and a structured payload
    (action, ICD-10 diagnosis, facility to refer to); the case is completed."""
    if caller.principal.id != case.owner_id:
        raise CaseError("owner", "only the assigned specialist answers a case")
    if action not in RECOMMENDED_ACTIONS:
        raise CaseError("action", f"one of {', '.join(RECOMMENDED_ACTIONS)}")
    advice = _text("advice", advice)
    diagnosis = diagnosis.strip().upper()
    if diagnosis and not icd10.is_valid(diagnosis):
        raise CaseError("diagnosis", f"unknown ICD-10 code {diagnosis!r}")
    if action == "refer" and not refer_to.strip():
        raise CaseError("refer_to", "a referral names the facility")
    structured = {"action": action, "advice": advice, "diagnosis": diagnosis or None,
                  "refer_to": refer_to.strip() or None}  # fmt: skip
    recommendation = {
        "resourceType": "Communication",
        "id": str(uuid.uuid4()),
        "status": "completed",
        "category": [{"coding": [{"system": MESSAGE_CATEGORY, "code": "recommendation"}]}],
        "basedOn": [{"reference": f"ServiceRequest/{case.id}"}],
        "subject": {"reference": f"Patient/{case.patient_id}"},
        "sent": instant(now),
        "sender": practitioner_ref(caller.store, caller.principal),
        "payload": [
            {"contentString": advice},
            {
                "contentAttachment": {
                    "contentType": RECOMMENDATION_TYPE,
                    "data": base64.b64encode(orjson.dumps(structured)).decode(),
                }
            },
        ],
    }
    if diagnosis:
        recommendation["reasonCode"] = [icd10.concept(diagnosis)]
    task = _touch(
        case.task,
        now,
        status="completed",
        output=[
            {
                "type": {"text": "recommendation"},
                "valueReference": {"reference": f"Communication/{recommendation['id']}"},
            }
        ],
    )
    request = {**case.request, "status": "completed"}
    write(caller, create=[recommendation], update=[task, request])
    return recommendation


def recommendation_of(message: dict) -> dict | None:
    """The structured payload of a recommendation Communication, or None for a chat message."""
    for item in message.get("payload", []):
        attachment = item.get("contentAttachment")
        if attachment and attachment.get("contentType") == RECOMMENDATION_TYPE:
            return orjson.loads(base64.b64decode(attachment["data"]))
    return None


def cases_for(caller: Caller, *, patient_id: str | None = None) -> list[Case]:
    """Consultations the caller may open: assigned to them or opened by them, or, with a
    patient, every case about that person that the caller may open; newest first."""
    me = f"Practitioner/{caller.principal.id}"
    base = [("code", f"{TASK_CODE}|consultation"), ("_sort", "-_lastUpdated"), ("_count", "200")]
    if patient_id is not None:
        tasks = search(caller, "Task", [("patient", f"Patient/{patient_id}"), *base])
    else:
        tasks = search(caller, "Task", [("owner", me), *base])
        tasks += search(caller, "Task", [("requester", me), *base])
    return joined(caller, tasks)


def joined(caller: Caller, tasks: list[dict]) -> list[Case]:
    """The cases of these Tasks (each with its ServiceRequest) that the caller may open."""
    tasks = list({t["id"]: t for t in tasks}.values())
    if not tasks:
        return []
    ids = ",".join(t["id"] for t in tasks)
    requests = {
        r["id"]: r for r in search(caller, "ServiceRequest", [("_id", ids), ("_count", "1000")])
    }
    cases = [Case(requests[t["id"]], t) for t in tasks if t["id"] in requests]
    return [c for c in cases if may_open(caller, c)]
