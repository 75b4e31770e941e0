"""Consultations: a commune or district clinician opens a case for a person, routed to the
least-loaded specialist of a specialty queue; the specialist accepts, chats, and answers with a
structured recommendation.

Who may open a case: its assigned specialist (Task.owner) and its referring clinician (the
requester), and callers who see everyone (administrators); the access policy of songkhoe.auth
enforces the same rule on /fhir. Every read and write is audited (songkhoe.auth.caller). The
person's record is shared with the assigned specialist under a recorded reason whose basis is
the ServiceRequest (Decree 13/2023/NĐ-CP, art. 11), until 30 days after the response deadline;
the share is written in the case's own transaction.
"""

import base64
import secrets
import uuid
from datetime import datetime, timedelta

import orjson

from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.clinical.records import Share, instant, write
from songkhoe.clinical.staff import facility_of, practitioner_ref, user_ref
from songkhoe.config import get_settings
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.names import full_name
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceNotFound, ResourceStore
from songkhoe.telehealth.models import (
    ATTACHMENT_TYPES,
    CONSULT_CATEGORY,
    MESSAGE_CATEGORY,
    OPEN_STATUSES,
    RECOMMENDATION_TYPE,
    RECOMMENDED_ACTIONS,
    TASK_CODE,
    URGENCIES,
    Case,
)
from songkhoe.telehealth.queues import QueueError, queue
from songkhoe.terminology import icd10

MAX_TEXT = 4000
SHARED_AFTER_DEADLINE = timedelta(days=30)  # the specialist keeps the record this long after


class CaseError(ValueError):
    """Bad input for a case; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CaseClosed(CaseError):
    """An action the case's status no longer allows (HTTP 409)."""


def _text(field: str, value: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CaseError(field, "required")
    if len(value) > MAX_TEXT:
        raise CaseError(field, f"at most {MAX_TEXT} characters")
    return value


def task_code(code: str) -> dict:
    return {"coding": [{"system": TASK_CODE, "code": code}]}


def _jitsi() -> str:
    return get_settings().jitsi_url.strip().rstrip("/")


def video_room() -> str | None:
    """A Jitsi Meet room with an unguessable name (128 random bits) on SONGKHOE_JITSI_URL; None
    while no server is set (patients' video never goes to a third party by default)."""
    server = _jitsi()
    return f"{server}/SongKhoe-{secrets.token_urlsafe(16)}" if server else None


def room_link(case: Case) -> str | None:
    """The case's video room, only on the configured server: Task.input can be written by
    others (through /fhir), so another address is never offered as a link."""
    server, room = _jitsi(), case.task_input("video-room")
    if server and room and room.startswith(f"{server}/"):
        return room
    return None


def open_load(store: ResourceStore, user_id: str) -> int:
    """How many unanswered consultations a specialist owns (a count, no personal data: not
    restricted, not audited)."""
    query = parse_query(
        "Task",
        [
            ("owner", f"Practitioner/{user_id}"),
            ("code", f"{TASK_CODE}|consultation"),
            ("status", ",".join(OPEN_STATUSES)),
        ],
    )
    with store.engine.connect() as conn:
        return fhir_search.count(conn, "Task", query)


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
    """Open a consultation; it goes to the queue's specialist with the fewest unanswered cases
    (the first listed on a tie), and the person's record is shared with them."""
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
    specialist = min(target.specialists, key=lambda user: open_load(caller.store, user))
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
    room = video_room()
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
        **({"input": [{"type": {"text": "video-room"}, "valueUrl": room}]} if room else {}),
    }
    share = share_with_specialist(
        user_id=specialist,
        case_id=case_id,
        patient_id=patient_id,
        reason="Hội chẩn từ xa: chuyên gia được phân công",
        until=now + level.target,
        now=now,
    )
    request, task = write(caller, create=[request, task], share=[share])
    return Case(request, task)


def share_with_specialist(
    *, user_id: str, case_id: str, patient_id: str, reason: str, until: datetime, now: datetime
) -> Share:
    """The share of the person's record with the specialist of a case whose deadline is
    `until`: it lasts until 30 days after it."""
    return Share(
        user_id=user_id,
        patient_id=patient_id,
        reason=reason,
        basis=f"ServiceRequest/{case_id}",
        expires_in=until - now + SHARED_AFTER_DEADLINE,
    )


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


def attachable(caller: Caller, patient_id: str) -> list[dict]:
    """What the caller may attach to a consultation about the person (audited searches): their
    images, documents and reports, and their latest observations."""
    subject = ("subject", f"Patient/{patient_id}")
    found = []
    for resource_type in ("ImagingStudy", "Media", "DocumentReference", "DiagnosticReport"):
        found += caller.search(resource_type, [subject, ("_count", "20")])
    found += caller.search("Observation", [subject, ("_sort", "-date"), ("_count", "15")])
    return found


def attached(caller: Caller, case: Case) -> list[dict]:
    """The case's attachments as the caller may see them (audited reads); for one the caller
    may not see, its bare reference `{"resourceType", "id"}`."""
    shown = []
    for info in case.request.get("supportingInfo", []):
        resource_type, _, resource_id = info["reference"].partition("/")
        try:
            shown.append(caller.read("read", resource_type, resource_id))
        except (FhirError, LookupError):
            shown.append({"resourceType": resource_type, "id": resource_id})
    return shown


def patient_names(caller: Caller, ids: set[str]) -> dict[str, str]:
    """The names of the people among `ids` whom the caller may see (audited as one search)."""
    if not ids:
        return {}
    found = caller.search("Patient", [("_id", ",".join(sorted(ids))), ("_count", "1000")])
    return {p["id"]: full_name(p) for p in found}


def load_case(caller: Caller, case_id: str, *, code: str = "consultation") -> Case:
    """The current version of a case the caller may open, audited as one read; a refusal is
    audited as a refusal and answers the same 404 as a case that does not exist."""
    try:
        case = Case(
            caller.store.read("ServiceRequest", case_id), caller.store.read("Task", case_id)
        )
    except ResourceNotFound:
        raise not_found("ServiceRequest", case_id) from None
    with caller.store.engine.connect() as conn:
        visible = (
            case.kind == code
            and all(caller.access.can_see(conn, r) for r in (case.request, case.task))
            and may_open(caller, case)
        )
    refs = [f"ServiceRequest/{case_id}", f"Task/{case_id}", f"Patient/{case.patient_id}"]
    caller.audit("read", refs, outcome="success" if visible else "refused")
    if not visible:
        raise not_found("ServiceRequest", case_id)
    return case


def may_open(caller: Caller, case: Case) -> bool:
    """A consultation: its assigned specialist and its requester. A referral: its requester, and
    the staff of the sending and of the receiving facility. Both: callers who see everyone."""
    p = caller.principal
    if caller.access.unrestricted:
        return True
    if case.kind == "consultation":
        return p.id in (case.owner_id, case.requester_id)
    return p.id == case.requester_id or facility_of(p) in (case.performer, case.sender_facility)


def _touch(task: dict, now: datetime, **changes) -> dict:
    return {**task, **changes, "lastModified": instant(now)}


def accept(caller: Caller, *, case: Case, now: datetime) -> Case:
    """The assigned specialist takes the case: requested → accepted."""
    if caller.principal.id != case.owner_id:
        raise CaseError("owner", "only the assigned specialist accepts a case")
    if case.status != "requested":
        return case
    (task,) = write(caller, update=[_touch(case.task, now, status="accepted")])
    return Case(case.request, task)


def post_message(caller: Caller, *, case: Case, text: str, now: datetime) -> dict:
    """A chat message on an unanswered case, kept as a Communication; the specialist's first
    message moves the case to in-progress."""
    if case.status not in OPEN_STATUSES:
        raise CaseClosed("status", "the case is answered; the chat is closed")
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
    if caller.principal.id == case.owner_id and case.status in ("requested", "accepted"):
        updates.append(_touch(case.task, now, status="in-progress"))
    return write(caller, create=[message], update=updates)[0]


def messages(caller: Caller, case: Case) -> list[dict]:
    """The case's chat messages and recommendation, oldest first."""
    return caller.search(
        "Communication",
        [
            ("based-on", f"ServiceRequest/{case.id}"),
            ("_sort", "sent,_lastUpdated"),
            ("_count", "1000"),
        ],
    )


def recommend(
    caller: Caller,
    *,
    case: Case,
    action: str,
    advice: str,
    diagnosis: str,
    refer_to: str,
    now: datetime,
) -> dict:
    """The specialist's answer: a Communication with the advice as text and a structured payload
    (action, ICD-10 diagnosis, facility to refer to); the case is completed, once."""
    if caller.principal.id != case.owner_id:
        raise CaseError("owner", "only the assigned specialist answers a case")
    if case.status not in OPEN_STATUSES:
        raise CaseClosed("status", "the case is already answered")
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
    output = {
        "type": {"text": "recommendation"},
        "valueReference": {"reference": f"Communication/{recommendation['id']}"},
    }
    task = _touch(case.task, now, status="completed", output=[output])
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


def cases_for(caller: Caller) -> list[Case]:
    """Consultations the caller may open: assigned to them or opened by them; newest first (a
    person's cases, on their chart: songkhoe.telehealth.panel)."""
    me = f"Practitioner/{caller.principal.id}"
    base = [("code", f"{TASK_CODE}|consultation"), ("_sort", "-_lastUpdated"), ("_count", "200")]
    tasks = caller.search("Task", [("owner", me), *base])
    tasks += caller.search("Task", [("requester", me), *base])
    return joined(caller, tasks)


def joined(caller: Caller, tasks: list[dict]) -> list[Case]:
    """The cases of these Tasks (each with its ServiceRequest) that the caller may open."""
    tasks = list({t["id"]: t for t in tasks}.values())
    if not tasks:
        return []
    ids = ",".join(t["id"] for t in tasks)
    requests = {
        r["id"]: r for r in caller.search("ServiceRequest", [("_id", ids), ("_count", "1000")])
    }
    cases = [Case(requests[t["id"]], t) for t in tasks if t["id"] in requests]
    return [c for c in cases if may_open(caller, c)]
