"""Audit trail: every access to personal data becomes a FHIR AuditEvent
(http://hl7.org/fhir/R4/auditevent.html), following the IHE BALP pattern for RESTful operations:
who (agent), what (entity), when (recorded), from where (agent.network), why (purposeOfEvent)."""

import base64
import getpass
import os
from dataclasses import dataclass

from songkhoe.auth.models import MANAGERS, Place, Principal, Role
from songkhoe.fhir.store import ResourceStore, utc_now
from songkhoe.fhir.systems import BASE

EVENT_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "RESTful Operation",
}
INTERACTION = "http://hl7.org/fhir/restful-interaction"
ACTION = {  # AuditEvent.action (http://hl7.org/fhir/R4/valueset-audit-event-action.html)
    "create": "C",
    "read": "R",
    "vread": "R",
    "history-instance": "R",
    "update": "U",
    "delete": "D",
    "search-type": "E",
    "history-type": "E",
    "transaction": "E",
    "batch": "E",
    "operation": "E",
}
OUTCOME = {"success": "0", "refused": "4", "failed": "8"}
PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
USER_SYSTEM = f"{BASE}/sid/user"
CLIENT_SYSTEM = f"{BASE}/sid/client"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a request came from and why."""

    address: str | None
    purpose: str | None = None  # a v3-ActReason code (TREAT, ETREAT, HOPERAT, PUBHLTH...)


def default_purpose(principal: Principal) -> str:
    """Treatment for clinicians, payment (HPAYMT, "healthcare payment") for the insurance
    accountant, operations for managers, administrators and other systems."""
    if principal.role == Role.INSURANCE_ACCOUNTANT:
        return "HPAYMT"
    if principal.kind == "user" and principal.role not in MANAGERS and not principal.is_admin:
        return "TREAT"
    return "HOPERAT"


def audit_event(
    *,
    principal: Principal,
    context: RequestContext,
    interaction: str,
    outcome: str,
    references: list[str],
    query: str | None = None,
    description: str | None = None,
) -> dict:
    """An AuditEvent for one interaction on the resources named by `references` ("Type/id")."""
    system = USER_SYSTEM if principal.kind == "user" else CLIENT_SYSTEM
    agent = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                    "code": "humanuser" if principal.kind == "user" else "datacollector",
                }
            ]
        },
        "who": {
            "identifier": {"system": system, "value": principal.id},
            "display": principal.display,
        },
        "requestor": True,
    }
    if principal.role is not None:
        agent["role"] = [{"text": principal.role.value}]
    if context.address:
        agent["network"] = {"address": context.address, "type": "2"}
    entities = [
        {
            "what": {"reference": ref},
            "type": {"system": ENTITY_TYPE, "code": "1" if ref.startswith("Patient/") else "2"},
            "role": {"system": OBJECT_ROLE, "code": "1" if ref.startswith("Patient/") else "4"},
        }
        for ref in references
    ]
    if query:
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "query": base64.b64encode(query.encode()).decode(),
            }
        )
    event = {
        "resourceType": "AuditEvent",
        "type": EVENT_TYPE,
        "subtype": [{"system": INTERACTION, "code": interaction}],
        "action": ACTION[interaction],
        "recorded": utc_now()[:23] + "Z",
        "outcome": OUTCOME[outcome],
        "purposeOfEvent": [
            {"coding": [{"system": PURPOSE, "code": context.purpose or default_purpose(principal)}]}
        ],
        "agent": [agent],
        "source": {
            "observer": {"display": "Sống Khỏe"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
    }
    if entities:
        event["entity"] = entities
    if description:
        event["outcomeDesc"] = description
    return event


def command_line_principal() -> Principal:
    """The agent of what a `songkhoe` command reads or writes: the command line (client `cli`),
    named by the operating-system user who runs it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor the password database
        user = f"uid {os.getuid()}"
    return Principal("client", "cli", user, None, Place("national"))


def record(store: ResourceStore, event: dict) -> None:
    """Write an AuditEvent in a transaction of its own (reads; writes audit in theirs)."""
    store.create(event)
