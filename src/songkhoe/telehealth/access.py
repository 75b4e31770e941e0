"""Who sees a telehealth consultation: its participants only (issue #8).

A consultation (its ServiceRequest of category telehealth-consult, its Task, and the
Communications based on it) is seen only by its participants, the requester and the assigned
specialist (Task.owner), and by callers who see everyone: sharing the person's record for one case
opens neither the person's other cases nor the advice given in them. A write may not add a message
or a task to someone else's consultation.

The rule is registered with `songkhoe.auth.policy`, which imports this module (it is in
`policy.RULE_MODULES`) before its first access decision in any process.
"""

from sqlalchemy import Connection, literal, or_

from songkhoe.auth.models import Principal
from songkhoe.auth.policy import VisibilityRule, register_visibility_rule
from songkhoe.fhir.restrictions import (
    Ids,
    Reference,
    has_code,
    holds,
    refers_to,
    refers_to_some,
    some_refers_to,
)
from songkhoe.fhir.systems import BASE

SERVICE_CATEGORY = f"{BASE}/CodeSystem/service-category"
CONSULT_CODE = "telehealth-consult"
TASK_CODE = f"{BASE}/CodeSystem/telehealth-task"
CONSULT_TASK_CODE = "consultation"
PARTICIPANT_PARAMS = ("requester", "owner")


def is_consultation(request_id: Ids) -> Ids:
    """Whether the ServiceRequest `request_id` is a telehealth consultation (its category)."""
    return has_code("ServiceRequest", request_id, "category", SERVICE_CATEGORY, CONSULT_CODE)


def _participant(principal: Principal) -> Reference:
    return Reference(PARTICIPANT_PARAMS, "Practitioner", principal.id)


def takes_part(principal: Principal, request_id: Ids) -> Ids:
    """Whether the principal requested the consultation ServiceRequest `request_id` or owns or
    requested a Task about it (Task.focus)."""
    me = _participant(principal)
    return or_(
        refers_to("ServiceRequest", request_id, me),
        some_refers_to("Task", me, Reference("focus", "ServiceRequest", request_id)),
    )


def _open_to(conn: Connection, principal: Principal, request_ids: set[str]) -> bool:
    """Whether each of these ServiceRequests is no consultation or one the principal takes part
    in."""
    return all(
        holds(conn, or_(~is_consultation(literal(r)), takes_part(principal, literal(r))))
        for r in request_ids
    )


def _coded(concepts: list[dict], system: str, code: str) -> bool:
    return any(
        (c.get("system"), c.get("code")) == (system, code)
        for concept in concepts
        for c in concept.get("coding", [])
    )


def visible(principal: Principal, resource_type: str, res_id: Ids) -> Ids | None:
    """The SQL condition on `res_id` that hides the consultations the principal takes no part
    in; None for the types no consultation is made of."""
    if resource_type == "ServiceRequest":
        return or_(~is_consultation(res_id), takes_part(principal, res_id))
    if resource_type == "Task":
        consult_task = has_code("Task", res_id, "code", TASK_CODE, CONSULT_TASK_CODE)
        return or_(~consult_task, refers_to("Task", res_id, _participant(principal)))
    if resource_type == "Communication":
        return ~refers_to_some(
            "Communication",
            res_id,
            "based-on",
            "ServiceRequest",
            lambda request: (is_consultation(request), ~takes_part(principal, request)),
        )
    return None


def sees(conn: Connection, principal: Principal, content: dict) -> bool:
    """The rule of `visible` for one resource (stored, or a version of it): its kind from its
    content, its participants from the current index rows."""
    resource_type, res_id = content.get("resourceType"), literal(content.get("id", ""))
    if resource_type == "Communication":
        refs = [r.get("reference", "") for r in content.get("basedOn", [])]
        return _open_to(conn, principal, {ref.removeprefix("ServiceRequest/") for ref in refs})
    if resource_type == "ServiceRequest" and _coded(
        content.get("category", []), SERVICE_CATEGORY, CONSULT_CODE
    ):
        return holds(conn, takes_part(principal, res_id))
    if resource_type == "Task" and _coded([content.get("code", {})], TASK_CODE, CONSULT_TASK_CODE):
        return holds(conn, refers_to("Task", res_id, _participant(principal)))
    return True


def joins(conn: Connection, principal: Principal, content: dict) -> bool:
    """Whether every consultation a Communication or Task would attach to (its basedOn, a Task's
    focus) is one the principal takes part in."""
    if content.get("resourceType") not in ("Communication", "Task"):
        return True
    refs = [*content.get("basedOn", [])]
    if content.get("resourceType") == "Task" and content.get("focus"):
        refs.append(content["focus"])
    requests = {
        ref.removeprefix("ServiceRequest/")
        for ref in (r.get("reference", "") for r in refs)
        if ref.startswith("ServiceRequest/")
    }
    return _open_to(conn, principal, requests)


register_visibility_rule(
    VisibilityRule(
        condition=visible,
        sees=sees,
        joins=joins,
        refusal="is attached to a consultation you do not take part in",
    )
)
