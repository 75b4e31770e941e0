"""Who may see and change whose records: role × place, sharing grants, and SMART scopes.

- An administrator, and a caller whose place is the whole country, sees everyone.
- Commune health workers, doctors, radiologists and insurance accountants see the people managed
  by the commune health stations of their place (a commune; a province; a facility counts as its
  commune for a commune station and as its province otherwise), plus the people shared with them
  by a grant; the accountant's scopes let them change only Claims and ClaimResponses.
- A specialist sees only the people shared with them under a recorded reason (`Caller.share`,
  `songkhoe users grant`; the consultation and referral flows will call it).
- District and provincial managers see aggregates and places, not people, unless granted
  person-level access (`can_see_names`).
- A token with patient/ scopes sees one person only.
A resource is about the people it references (`Patient/id`). A resource of a type that can refer
to a person (`person_linked_types`) is visible when every person it names is visible, and, if it
names nobody, only to callers who see everyone. Shared reference data (Locations, Organizations,
Practitioners) is readable by every authenticated caller and changed only by callers who see
everyone. AuditEvents are never written through the API; their search terms are shown only to
callers who see everyone.

Domains narrow this further with visibility rules (`VisibilityRule`), applied to every caller who
does not see everyone: `songkhoe.telehealth.access` shows a consultation (its ServiceRequest, Task
and Communications) only to its participants, so sharing a person's record for one case opens
neither their other cases nor the advice given in them (issue #8). A domain registers its rule
when its module is imported; so that no process (the FHIR API, the CLI, a worker, a test) ever
decides without a rule because nothing had imported that domain yet, `visibility_rules` first
imports every module of `RULE_MODULES`: a domain with a rule adds its module there. The store-level
SQL of every rule comes from `songkhoe.fhir.restrictions`.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, false, func, literal, or_, select, union_all

from songkhoe.auth.models import MANAGERS, Place, Principal, Role
from songkhoe.auth.tables import access_grant
from songkhoe.fhir.indexing import patients_named
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.restrictions import (
    Ids,
    live_ids,
    managed_patients,
    names_no_patient_outside,
    names_patient_in,
)
from songkhoe.fhir.searchparams import params_for, resource_types
from songkhoe.fhir.store import utc_now
from songkhoe.places.catalog import communes
from songkhoe.places.facilities import commune_station_id, facility

PLACE_BASED = frozenset(
    {Role.COMMUNE_HEALTH_WORKER, Role.DOCTOR, Role.RADIOLOGIST, Role.INSURANCE_ACCOUNTANT}
)
READ_ONLY_TYPES = frozenset({"AuditEvent"})
RULE_MODULES = ("songkhoe.telehealth.access",)  # the modules that register visibility rules


@dataclass(frozen=True, slots=True)
class VisibilityRule:
    """A domain's rule that hides some records of the people a caller sees (see the module's
    docstring); applied only to callers who do not see everyone."""

    # the SQL condition on `res_id` (resource ids of the type) keeping what the principal may
    # see; None when the rule hides nothing of that type
    condition: Callable[[Principal, str, Ids], Ids | None]
    # the same rule for one resource's content (stored, or a version of it)
    sees: Callable[[Connection, Principal, dict], bool]
    # whether a write of this resource attaches only to records the principal may see
    joins: Callable[[Connection, Principal, dict], bool]
    refusal: str  # why `joins` refuses a write, after the resource type: "is attached to ..."


_registered: list[VisibilityRule] = []


def register_visibility_rule(rule: VisibilityRule) -> None:
    """Add a domain's visibility rule (called when the domain's module in RULE_MODULES loads)."""
    _registered.append(rule)


@cache
def _import_rule_modules() -> None:
    for name in RULE_MODULES:
        importlib.import_module(name)


def visibility_rules() -> tuple[VisibilityRule, ...]:
    """The registered visibility rules, once every module of RULE_MODULES has been imported."""
    _import_rule_modules()
    return tuple(_registered)


def stations(place: Place) -> list[str] | None:
    """The commune health stations (Organization ids) of a place; None for the whole country."""
    if place.kind == "national":
        return None
    if place.kind == "commune":
        return [commune_station_id(place.code)]
    if place.kind == "facility":
        site = facility(place.code)
        if site.kind == "commune_station":
            return [site.id]
        return [commune_station_id(c.code) for c in communes(site.province_code)]
    return [commune_station_id(c.code) for c in communes(place.code)]


def covers(place: Place, commune_codes: list[str]) -> bool:
    """Whether the place includes every one of these communes: the rule of the aggregates (NCD
    indicators, dashboard, disease map) and of the surveillance alerts."""
    mine = stations(place)
    return mine is None or {commune_station_id(c) for c in commune_codes} <= set(mine)


@cache
def person_linked_types() -> frozenset[str]:
    """Resource types with a reference search parameter that may point at a Patient."""
    return frozenset(
        t
        for t in resource_types()
        if t == "Patient"
        or any(p.type == "reference" and "Patient" in p.targets for p in params_for(t).values())
    )


def patients_referenced(content: dict) -> set[str]:
    """The ids of the Patients a resource is about: itself, or those it references anywhere in
    its content (a literal `Patient/id` reference, http://hl7.org/fhir/R4/references.html)."""
    ids = patients_named(orjson.dumps(content))
    if content.get("resourceType") == "Patient" and content.get("id"):
        ids.add(content["id"])
    return ids


def _forbidden(message: str) -> FhirError:
    return FhirError.single(403, "forbidden", message)


class Access:
    """The access decisions for one principal."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def sees_people(self) -> bool:
        p = self.principal
        return p.kind == "client" or p.role not in MANAGERS or p.can_see_names

    @property
    def place_based(self) -> bool:
        p = self.principal
        return (
            p.kind == "client" or p.role in PLACE_BASED or (p.role in MANAGERS and p.can_see_names)
        )

    @property
    def unrestricted(self) -> bool:
        p = self.principal
        if p.patient_id is not None or not self.sees_people:
            return False
        return p.is_admin or (p.place.kind == "national" and self.place_based)

    def refusal(self, resource_type: str, access: str) -> str | None:
        """Why the SMART scopes or the role refuse an interaction on a type; None if they allow
        it."""
        if not self.principal.allows(resource_type, access):
            return f"the token's scopes do not allow {access} of {resource_type}"
        if resource_type in person_linked_types() and not self.sees_people:
            return (
                "managers see aggregates, not people's records, unless granted person-level access"
            )
        if access == "write" and resource_type in READ_ONLY_TYPES:
            return f"{resource_type} is written by the server only"
        return None

    def require(self, resource_type: str, access: str) -> None:
        """SMART scope and role check for an interaction on a type (FhirError 403)."""
        refusal = self.refusal(resource_type, access)
        if refusal is not None:
            raise _forbidden(refusal)

    def chain_refusal(self, chained: dict[str, str]) -> FhirError | None:
        """The 403 for a search whose chained parameters (parameter as written -> the type it
        goes through) pass through a type the principal may not read, else None:
        `subject:Patient.identifier=<CCCD>` would tell whose Observations these are without
        Patient read (http://hl7.org/fhir/R4/search.html#chaining)."""
        for parameter, chained_type in chained.items():
            refusal = self.refusal(chained_type, "read")
            if refusal is not None:
                return _forbidden(f"{parameter}: {refusal}")
        return None

    def may_read(self, resource_type: str) -> bool:
        """Whether the scopes and the role let the principal read a type."""
        return self.refusal(resource_type, "read") is None

    def allowed_patients(self) -> Select | None:
        """SELECT of the ids of the Patients this principal may see; None for everyone."""
        p = self.principal
        nobody = select(literal("").label("patient_id")).where(false())
        if not self.sees_people:
            return nobody
        if p.patient_id is not None:
            return select(literal(p.patient_id).label("patient_id"))
        if self.unrestricted:
            return None
        parts: list[Select] = []
        if self.place_based:
            parts.append(managed_patients(stations(p.place) or []))
        if p.kind == "user":
            now = utc_now()
            parts.append(
                select(access_grant.c.patient_id).where(
                    access_grant.c.user_id == p.id,
                    or_(access_grant.c.expires.is_(None), access_grant.c.expires > now),
                )
            )
        if not parts:
            return nobody
        return parts[0] if len(parts) == 1 else select(union_all(*parts).subquery())

    def restriction(self, resource_type: str, rows: Any, per_row: bool = False) -> Ids | None:
        """The SQL condition on `rows` (the resource table or an alias) that keeps what this
        principal may see of a type; None when nothing is hidden. The same rule as `can_see`:
        a resource of a person-linked type is visible when it names at least one person and
        every person it names is visible. `per_row`: other conditions already narrow the rows,
        so each is checked through its own index rows instead of listing everything visible."""
        allowed = self.allowed_patients()
        if allowed is None or resource_type not in person_linked_types():
            return None
        res_id = rows.c.res_id
        names_nobody_hidden = names_no_patient_outside(resource_type, res_id, allowed)
        if resource_type == "Patient":
            visible = res_id.in_(allowed)
        else:
            visible = names_patient_in(resource_type, res_id, allowed, per_row=per_row)
        return and_(visible, names_nobody_hidden, *self._rule_conditions(resource_type, res_id))

    def _rule_conditions(self, resource_type: str, res_id: Ids) -> list[Ids]:
        """The visibility rules' SQL conditions on the resources `res_id` of a type."""
        conditions = (
            rule.condition(self.principal, resource_type, res_id) for rule in visibility_rules()
        )
        return [c for c in conditions if c is not None]

    def check_people(self, conn: Connection, patient_ids: set[str]) -> bool:
        """Whether every one of these existing Patients is visible to the principal."""
        if not patient_ids:
            return True
        allowed = self.allowed_patients()
        if allowed is None:
            return True
        sub = allowed.subquery()
        seen = conn.execute(
            select(func.count(sub.c.patient_id.distinct())).where(
                sub.c.patient_id.in_(sorted(patient_ids))
            )
        ).scalar_one()
        return seen == len(patient_ids)

    def live_visible_patients(self, conn: Connection, patient_ids: list[str]) -> set[str]:
        """Those of these Patients that exist now (not deleted) and that the principal may see:
        for lists built from projections, which may name people who moved away or were
        deleted since they were last rebuilt."""
        return live_ids(conn, "Patient", patient_ids, partial(self.restriction, "Patient"))

    def can_see(self, conn: Connection, content: dict) -> bool:
        """Whether the principal may see this resource: every person it names is visible, and a
        resource of a person-linked type that names nobody (a reference by identifier or absolute
        URL only) is for callers who see everyone."""
        people = patients_referenced(content)
        if not people and content.get("resourceType") in person_linked_types():
            return self.unrestricted
        return self.check_people(conn, people) and self._rules_allow(conn, content)

    def _rules_allow(self, conn: Connection, content: dict) -> bool:
        """Whether every visibility rule lets the principal see this resource."""
        return self.unrestricted or all(
            rule.sees(conn, self.principal, content) for rule in visibility_rules()
        )

    def attachment_refusal(self, conn: Connection, content: dict) -> str | None:
        """Why a write of this resource may not attach where it points (a visibility rule's
        refusal, after the type: a message or a task on a consultation the principal takes no
        part in); None when it may."""
        if self.unrestricted:
            return None
        refused = (r for r in visibility_rules() if not r.joins(conn, self.principal, content))
        return next((rule.refusal for rule in refused), None)

    def sees_all_types(self) -> bool:
        scopes = self.principal.scopes
        return any(s.resource_type == "*" and s.access in ("read", "*") for s in scopes)

    def present(self, content: dict) -> dict:
        """The resource as this principal may receive it: an AuditEvent's query (the search
        terms, often names or card numbers) only for callers who see everyone."""
        if content.get("resourceType") != "AuditEvent" or self.unrestricted:
            return content
        entities = [e for e in content.get("entity", []) if "query" not in e]
        return {**content, "entity": entities}

    def check_station(self, content: dict) -> None:
        """A Patient may only be registered with (or moved to) a station of the caller's place."""
        if self.unrestricted:
            return
        org = (content.get("managingOrganization") or {}).get("reference", "")
        allowed = stations(self.principal.place) if self.place_based else []
        if allowed is not None and org.removeprefix("Organization/") not in allowed:
            raise _forbidden(
                "a person can only be registered with a commune health station of your place "
                "(Patient.managingOrganization)"
            )
