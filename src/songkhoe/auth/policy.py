"""Who may see and change whose records: role × place, sharing grants, and SMART scopes.

- An administrator, and a caller whose place is the whole country, sees everyone.
- Commune health workers, doctors and radiologists see the people managed by the commune health
  stations of their place (a commune; a province; a facility counts as its commune for a commune
  station and as its province otherwise), plus the people shared with them by a grant.
- A specialist sees only the people shared with them under a recorded reason (`Caller.share`,
  `songkhoe users grant`; the consultation and referral flows will call it).
- District and provincial managers see aggregates and places, not people, unless granted
  person-level access (`can_see_names`).
- A token with patient/ scopes sees one person only.
- A telehealth consultation (its ServiceRequest of category telehealth-consult, its Task, and the
  Communications based on it) is seen only by its participants, the requester and the assigned
  specialist (Task.owner), and by callers who see everyone: sharing the person's record for one
  case opens neither the person's other cases nor the advice given in them (issue #8).
A resource is about the people it references (`Patient/id`). A resource of a type that can refer
to a person (`person_linked_types`) is visible when every person it names is visible, and, if it
names nobody, only to callers who see everyone. Shared reference data (Locations, Organizations,
Practitioners) is readable by every authenticated caller and changed only by callers who see
everyone. AuditEvents are never written through the API; their search terms are shown only to
callers who see everyone.
"""

from functools import cache

import orjson
from sqlalchemy import (
    Connection,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)

from songkhoe.auth.models import MANAGERS, Place, Principal, Role
from songkhoe.db.tables import access_grant, idx_reference, idx_token, resource
from songkhoe.fhir.indexing import patients_named
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.searchparams import params_for, resource_types
from songkhoe.fhir.store import utc_now
from songkhoe.fhir.systems import BASE
from songkhoe.places.catalog import communes
from songkhoe.places.facilities import commune_station_id, facility

ID_CHUNK = 500  # ids per IN (...) list

PLACE_BASED = frozenset({Role.COMMUNE_HEALTH_WORKER, Role.DOCTOR, Role.RADIOLOGIST})
READ_ONLY_TYPES = frozenset({"AuditEvent"})
# Telehealth consultations (songkhoe.telehealth.models uses these codes)
SERVICE_CATEGORY = f"{BASE}/CodeSystem/service-category"
CONSULT_CODE = "telehealth-consult"
TASK_CODE = f"{BASE}/CodeSystem/telehealth-task"
CONSULT_TASK_CODE = "consultation"


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

    def require(self, resource_type: str, access: str) -> None:
        """SMART scope and role check for an interaction on a type (FhirError 403)."""
        if not self.principal.allows(resource_type, access):
            raise _forbidden(f"the token's scopes do not allow {access} of {resource_type}")
        if resource_type in person_linked_types() and not self.sees_people:
            raise _forbidden(
                "managers see aggregates, not people's records, unless granted person-level access"
            )
        if access == "write" and resource_type in READ_ONLY_TYPES:
            raise _forbidden(f"{resource_type} is written by the server only")

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
            org = idx_reference.alias()
            parts.append(
                select(org.c.res_id.label("patient_id")).where(
                    org.c.res_type == "Patient",
                    org.c.param == "organization",
                    org.c.target_type == "Organization",
                    org.c.target_id.in_(stations(p.place) or []),
                )
            )
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

    def restriction(self, resource_type: str, rows, per_row: bool = False) -> object | None:
        """The SQL condition on `rows` (the resource table or an alias) that keeps what this
        principal may see of a type; None when nothing is hidden. The same rule as `can_see`:
        a resource of a person-linked type is visible when it names at least one person and
        every person it names is visible. `per_row`: other conditions already narrow the rows,
        so each is checked through its own index rows instead of listing everything visible."""
        allowed = self.allowed_patients()
        if allowed is None or resource_type not in person_linked_types():
            return None
        hidden = idx_reference.alias()
        names_nobody_hidden = ~exists().where(
            hidden.c.res_type == resource_type,
            hidden.c.res_id == rows.c.res_id,
            hidden.c.target_type == "Patient",
            hidden.c.target_id.not_in(allowed),
        )
        if resource_type == "Patient":
            return and_(rows.c.res_id.in_(allowed), names_nobody_hidden)
        named = idx_reference.alias()
        names_someone_visible = (
            named.c.res_type == resource_type,
            named.c.target_type == "Patient",
            named.c.target_id.in_(allowed),
        )
        if per_row:
            visible = exists().where(named.c.res_id == rows.c.res_id, *names_someone_visible)
        else:
            visible = rows.c.res_id.in_(select(named.c.res_id).where(*names_someone_visible))
        return and_(
            visible, names_nobody_hidden, *self._consultations_visible(resource_type, rows.c.res_id)
        )

    def _consultations_visible(self, resource_type: str, res_id) -> list:
        """SQL conditions on the resource `res_id` of a type: no consultation whose participants
        exclude this principal (see the module's docstring); [] for other types."""
        if resource_type == "ServiceRequest":
            return [or_(~_is_consultation(res_id), self._takes_part(res_id))]
        if resource_type == "Task":
            consult_task = exists().where(
                idx_token.c.res_type == "Task",
                idx_token.c.res_id == res_id,
                idx_token.c.param == "code",
                idx_token.c.system == TASK_CODE,
                idx_token.c.code == CONSULT_TASK_CODE,
            )
            return [or_(~consult_task, self._owns_or_requested("Task", res_id))]
        if resource_type == "Communication":
            based = idx_reference.alias()
            return [
                ~exists().where(
                    based.c.res_type == "Communication",
                    based.c.res_id == res_id,
                    based.c.param == "based-on",
                    based.c.target_type == "ServiceRequest",
                    _is_consultation(based.c.target_id),
                    ~self._takes_part(based.c.target_id),
                )
            ]
        return []

    def _owns_or_requested(self, resource_type: str, res_id):
        """Whether the principal is the requester or the owner (Task) of the resource."""
        me = idx_reference.alias()
        return exists().where(
            me.c.res_type == resource_type,
            me.c.res_id == res_id,
            me.c.param.in_(("requester", "owner")),
            me.c.target_type == "Practitioner",
            me.c.target_id == self.principal.id,
        )

    def _takes_part(self, request_id):
        """Whether the principal requested the consultation ServiceRequest `request_id` or owns
        or requested a Task about it (Task.focus)."""
        me, focus = idx_reference.alias(), idx_reference.alias()
        return or_(
            self._owns_or_requested("ServiceRequest", request_id),
            exists().where(
                me.c.res_type == "Task",
                me.c.param.in_(("requester", "owner")),
                me.c.target_type == "Practitioner",
                me.c.target_id == self.principal.id,
                focus.c.res_type == "Task",
                focus.c.res_id == me.c.res_id,
                focus.c.param == "focus",
                focus.c.target_type == "ServiceRequest",
                focus.c.target_id == request_id,
            ),
        )

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
        found: set[str] = set()
        for start in range(0, len(patient_ids), ID_CHUNK):
            rows = [
                resource.c.res_type == "Patient",
                resource.c.is_current,
                ~resource.c.deleted,
                resource.c.res_id.in_(patient_ids[start : start + ID_CHUNK]),
            ]
            rule = self.restriction("Patient", resource)
            query = select(resource.c.res_id).where(*rows, *([] if rule is None else [rule]))
            found.update(conn.execute(query).scalars())
        return found

    def can_see(self, conn: Connection, content: dict) -> bool:
        """Whether the principal may see this resource: every person it names is visible, and a
        resource of a person-linked type that names nobody (a reference by identifier or absolute
        URL only) is for callers who see everyone."""
        people = patients_referenced(content)
        if not people and content.get("resourceType") in person_linked_types():
            return self.unrestricted
        return self.check_people(conn, people) and self._sees_consultation(conn, content)

    def _sees_consultation(self, conn: Connection, content: dict) -> bool:
        """The consultation rule of `restriction` for one resource (stored, or a version of it):
        its kind from its content, its participants from the current index rows."""
        if self.unrestricted:
            return True
        resource_type, res_id = content.get("resourceType"), literal(content.get("id", ""))
        if resource_type == "Communication":
            refs = [r.get("reference", "") for r in content.get("basedOn", [])]
            return all(
                _holds(conn, or_(~_is_consultation(literal(r)), self._takes_part(literal(r))))
                for r in (ref.removeprefix("ServiceRequest/") for ref in refs)
            )
        if resource_type == "ServiceRequest" and _coded(
            content.get("category", []), SERVICE_CATEGORY, CONSULT_CODE
        ):
            return _holds(conn, self._takes_part(res_id))
        if resource_type == "Task" and _coded(
            [content.get("code", {})], TASK_CODE, CONSULT_TASK_CODE
        ):
            return _holds(conn, self._owns_or_requested("Task", res_id))
        return True

    def joins_consultations(self, conn: Connection, content: dict) -> bool:
        """Whether every consultation this resource would attach to (a Communication's basedOn, a
        Task's focus or basedOn) is one the principal takes part in: a write may not add a
        message or a task to someone else's consultation."""
        if self.unrestricted:
            return True
        refs = [*content.get("basedOn", [])]
        if content.get("resourceType") == "Task" and content.get("focus"):
            refs.append(content["focus"])
        requests = {
            ref.removeprefix("ServiceRequest/")
            for ref in (r.get("reference", "") for r in refs)
            if ref.startswith("ServiceRequest/")
        }
        return all(
            _holds(conn, or_(~_is_consultation(literal(r)), self._takes_part(literal(r))))
            for r in requests
        )

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


def _is_consultation(request_id):
    """Whether the ServiceRequest `request_id` is a telehealth consultation (its category)."""
    return exists().where(
        idx_token.c.res_type == "ServiceRequest",
        idx_token.c.res_id == request_id,
        idx_token.c.param == "category",
        idx_token.c.system == SERVICE_CATEGORY,
        idx_token.c.code == CONSULT_CODE,
    )


def _coded(concepts: list[dict], system: str, code: str) -> bool:
    return any(
        (c.get("system"), c.get("code")) == (system, code)
        for concept in concepts
        for c in concept.get("coding", [])
    )


def _holds(conn: Connection, condition) -> bool:
    return bool(conn.execute(select(condition)).scalar())


def last_content(conn: Connection, resource_type: str, resource_id: str) -> dict | None:
    """The latest version that has content: the live one, or the one before a deletion."""
    return conn.execute(
        select(resource.c.content)
        .where(
            resource.c.res_type == resource_type,
            resource.c.res_id == resource_id,
            ~resource.c.deleted,
        )
        .order_by(resource.c.version.desc())
        .limit(1)
    ).scalar()
