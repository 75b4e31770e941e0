"""Specialty queues: where consultations go. A queue is an Organization (a department of a higher
facility: "Tim mạch – Bệnh viện Bạch Mai", `partOf` the facility) and its people are
PractitionerRoles: the specialists who answer (`specialist`) and, in order, the backups a case
escalates to when its response target is missed (`backup`). Shared reference data, configured by an
administrator (`songkhoe telehealth queue`)."""

from dataclasses import dataclass

from sqlalchemy.exc import NoResultFound

from songkhoe.auth.service import user_id_of, user_principal
from songkhoe.clinical.records import reference_data
from songkhoe.clinical.staff import ensure_practitioner, user_of
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BASE
from songkhoe.places.catalog import UnknownPlace
from songkhoe.places.facilities import facility
from songkhoe.telehealth.models import QUEUE_ROLE, SPECIALTIES, SPECIALTY

QUEUE_KIND = {"system": f"{BASE}/CodeSystem/organization-kind", "code": "specialty-queue"}


class QueueError(ValueError):
    """A queue that cannot be configured or found; the message names the field."""


@dataclass(frozen=True, slots=True)
class Queue:
    id: str
    name: str
    facility_id: str
    specialty: str
    specialists: tuple[str, ...]  # account ids
    backups: tuple[str, ...]


def queue_id(facility_id: str, specialty: str) -> str:
    return f"q-{facility_id}-{specialty}"


def configure_queue(
    store: ResourceStore,
    *,
    facility_id: str,
    specialty: str,
    specialists: list[str],
    backups: list[str],
) -> Queue:
    """Create or replace a queue (usernames in; all or nothing)."""
    try:
        site = facility(facility_id)
    except UnknownPlace as exc:
        raise QueueError(f"facility: {exc}") from None
    if specialty not in SPECIALTIES:
        raise QueueError(f"specialty must be one of {', '.join(SPECIALTIES)}, got {specialty!r}")
    if not specialists:
        raise QueueError("specialist: a queue needs at least one specialist")
    qid = queue_id(site.id, specialty)
    people = []
    for role, names in (("specialist", specialists), ("backup", backups)):
        for name in names:
            try:
                uid = user_id_of(store.engine, name)
                ensure_practitioner(store, uid, user_principal(store.engine, uid).display)
            except (LookupError, NoResultFound, ValueError) as exc:
                raise QueueError(f"{role}: {exc}") from None
            people.append((role, uid))
    organization = {
        "resourceType": "Organization",
        "id": qid,
        "active": True,
        "type": [{"coding": [QUEUE_KIND]}],
        "name": f"{SPECIALTIES[specialty][0]} – {site.name}",
        "partOf": {"reference": f"Organization/{site.id}"},
    }
    roles = [
        {
            "resourceType": "PractitionerRole",
            "id": f"{qid}-{n}",
            "active": True,
            "practitioner": {"reference": f"Practitioner/{uid}"},
            "organization": {"reference": f"Organization/{qid}"},
            "code": [{"coding": [{"system": QUEUE_ROLE, "code": role}]}],
            "specialty": [{"coding": [{"system": SPECIALTY, "code": specialty}]}],
        }
        for n, (role, uid) in enumerate(people)
    ]
    old = reference_data(store, "PractitionerRole", [("organization", f"Organization/{qid}")])
    with store.transaction() as writer:
        writer.update(organization)
        for role in old:
            writer.delete("PractitionerRole", role["id"])
        for role in roles:
            writer.update(role)
    return _queue(organization, roles)


def _queue(organization: dict, roles: list[dict]) -> Queue:
    def members(code: str) -> tuple[str, ...]:
        ordered = sorted(roles, key=lambda r: int(r["id"].rsplit("-", 1)[1]))
        return tuple(
            user_of(r["practitioner"]) for r in ordered if r["code"][0]["coding"][0]["code"] == code
        )

    parent = organization["partOf"]["reference"].removeprefix("Organization/")
    return Queue(
        id=organization["id"],
        name=organization["name"],
        facility_id=parent,
        specialty=organization["id"].removeprefix(f"q-{parent}-"),
        specialists=members("specialist"),
        backups=members("backup"),
    )


def queue(store: ResourceStore, qid: str) -> Queue:
    found = reference_data(store, "Organization", [("_id", qid)])
    if not found or QUEUE_KIND not in found[0].get("type", [{}])[0].get("coding", []):
        raise QueueError(f"queue: no specialty queue {qid!r}")
    roles = reference_data(store, "PractitionerRole", [("organization", f"Organization/{qid}")])
    return _queue(found[0], roles)


def all_queues(store: ResourceStore) -> list[Queue]:
    organizations = reference_data(
        store, "Organization", [("type", f"{QUEUE_KIND['system']}|{QUEUE_KIND['code']}")]
    )
    return sorted((queue(store, o["id"]) for o in organizations), key=lambda q: q.name)


def queues_of(store: ResourceStore, user_id: str) -> list[Queue]:
    """The queues a user answers in, as specialist or backup."""
    roles = reference_data(store, "PractitionerRole", [("practitioner", f"Practitioner/{user_id}")])
    ids = sorted({r["organization"]["reference"].removeprefix("Organization/") for r in roles})
    return [queue(store, qid) for qid in ids]
