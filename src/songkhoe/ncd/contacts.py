"""A call or a home visit made for an NCD worklist, recorded as a FHIR Communication: status
completed, category the worklist (code system `WORKLIST_SYSTEM`, the list's kind), medium PHONE
or FACE (v3 ParticipationMode), subject the person, sender the commune station, the note as its
payload. It is written through the audited path; a person contacted in the last 30 days stays on
the list, marked as contacted (`songkhoe.ncd.worklist_read`)."""

from datetime import UTC, datetime

import numpy as np

from songkhoe.auth.caller import Caller
from songkhoe.fhir.systems import BASE
from songkhoe.ncd.worklists import FOLLOW_UP_DAYS
from songkhoe.places.facilities import commune_station_id
from songkhoe.timezones import local_date

WORKLIST_SYSTEM = f"{BASE}/CodeSystem/ncd-worklist"
MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MODES = {"call": "PHONE", "visit": "FACE"}


def contact_resource(kind: str, commune_code: str, patient_id: str, mode: str, note: str) -> dict:
    """The Communication of a contact (`mode` "call" or "visit") sent now."""
    com = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": WORKLIST_SYSTEM, "code": kind}]}],
        "medium": [{"coding": [{"system": MODE_SYSTEM, "code": MODES[mode]}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "sent": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sender": {"reference": f"Organization/{commune_station_id(commune_code)}"},
    }
    if note:
        com["payload"] = [{"contentString": note}]
    return com


def record_contact(
    caller: Caller, kind: str, commune_code: str, patient_id: str, mode: str, note: str
) -> None:
    """Write a contact as the caller; FhirError (the refusal audited) if the policy refuses."""
    with caller.refusals("create", [f"Patient/{patient_id}"]):
        caller.store.create(
            contact_resource(kind, commune_code, patient_id, mode, note),
            guard=caller.guard("create"),
        )


def is_worklist_contact(com: dict) -> bool:
    """Whether a Communication is the contact of a worklist (not a chat or a recommendation)."""
    return any(
        c.get("system") == WORKLIST_SYSTEM
        for cat in com.get("category", [])
        for c in cat.get("coding", [])
    )


def recent_contacts(caller: Caller, kind: str, now: np.datetime64) -> dict[str, str]:
    """Patient id -> day (Vietnam) of the latest contact for this list that the caller may see,
    in the 30 days up to `now` (UTC); not audited: it marks entries the caller audits."""
    since = now.astype("datetime64[s]") - np.timedelta64(FOLLOW_UP_DAYS, "D")
    items = [
        ("category", f"{WORKLIST_SYSTEM}|{kind}"),
        ("sent", f"ge{since}Z"),
        ("sent", f"le{now.astype('datetime64[s]')}Z"),
        ("_count", "1000"),
    ]
    latest: dict[str, str] = {}
    for com in caller.visible("Communication", items):
        pid = com["subject"]["reference"].removeprefix("Patient/")
        latest[pid] = max(latest.get(pid, ""), local_date(com.get("sent")))
    return latest
