"""Reading and writing people's records on behalf of a caller (access policy and audit trail of
songkhoe.auth.caller), and reading shared reference data (queues, practitioners).

Every update is conditional on the version it was read at (`If-Match`, meta.versionId;
http://hl7.org/fhir/R4/http.html#concurrency): a resource changed meanwhile is a 409, never a
lost update. Sharing a record (a grant, Decree 13/2023/NĐ-CP art. 11) and ending a share are
written in the same transaction as the case they belong to, with their AuditEvents.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from songkhoe.auth.audit import audit_event
from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.auth.service import grant_access, revoke_access
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceStore, VersionConflict, Writer


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def reference_data(
    store: ResourceStore, resource_type: str, items: list[tuple[str, str]]
) -> list[dict]:
    """Shared reference data (Organization, PractitionerRole, Practitioner): no person in it,
    readable by every authenticated caller, so neither restricted nor audited."""
    with store.engine.connect() as conn:
        return [
            r for _, r in fhir_search.page(conn, resource_type, parse_query(resource_type, items))
        ]


@dataclass(frozen=True, slots=True)
class Share:
    """A person's record shared with one user because of a case (`basis`, e.g.
    ServiceRequest/ID), for `expires_in` from now."""

    user_id: str
    patient_id: str
    reason: str
    basis: str
    expires_in: timedelta


@dataclass(frozen=True, slots=True)
class Unshare:
    """The end of a user's shares of a person's record for one case (`basis`)."""

    user_id: str
    patient_id: str
    basis: str


def write(
    caller: Caller,
    *,
    create: Iterable[dict] = (),
    update: Iterable[dict] = (),
    share: Iterable[Share] = (),
    unshare: Iterable[Unshare] = (),
) -> list[dict]:
    """Create and update resources, share records and end shares, all in one transaction; each
    write is checked against the caller's access and the whole audited. An update of a resource
    changed since it was read is a 409 FhirError; a refusal writes nothing and is audited."""
    create, update = list(create), list(update)
    refs = [f"{r['resourceType']}/{r.get('id', '')}" for r in create + update]
    with caller.refusals("transaction", refs):
        try:
            with caller.store.transaction(caller.guard("transaction")) as writer:
                written = writer.create_many(create)
                written += [writer.update(r, if_match=_version(r)) for r in update]
                for grant in share:
                    _share(caller, writer, grant)
                for ending in unshare:
                    _unshare(caller, writer, ending)
                return written
        except VersionConflict as exc:
            raise FhirError.single(
                409, "conflict", f"{exc}: changed by someone else meanwhile; reload and retry"
            ) from None


def _version(resource: dict) -> int:
    """The version an update builds on: every update starts from a resource as read."""
    version = resource.get("meta", {}).get("versionId")
    if not version:
        raise ValueError(f"{resource['resourceType']}/{resource.get('id')}: update of an unread")
    return int(version)


def _audit(caller: Caller, writer: Writer, references: list[str], description: str) -> None:
    event = audit_event(
        principal=caller.principal,
        context=caller.context,
        interaction="operation",
        outcome="success",
        references=references,
        description=description,
    )
    writer.create_many([event], check=False)


def _share(caller: Caller, writer: Writer, grant: Share) -> None:
    """As Caller.share, inside the transaction: only a record the caller sees, and audited."""
    if not caller.access.check_people(writer.conn, {grant.patient_id}):
        raise not_found("Patient", grant.patient_id)
    grant_access(
        caller.store.engine,
        conn=writer.conn,
        user_id=grant.user_id,
        patient_id=grant.patient_id,
        reason=grant.reason,
        basis=grant.basis,
        granted_by=caller.principal.id,
        expires_in=grant.expires_in,
    )
    _audit(
        caller,
        writer,
        [f"Patient/{grant.patient_id}", grant.basis],
        f"record shared with user {grant.user_id}: {grant.reason}",
    )


def _unshare(caller: Caller, writer: Writer, ending: Unshare) -> None:
    ended = revoke_access(
        caller.store.engine,
        conn=writer.conn,
        user_id=ending.user_id,
        patient_id=ending.patient_id,
        basis=ending.basis,
    )
    if ended:
        _audit(
            caller,
            writer,
            [f"Patient/{ending.patient_id}", ending.basis],
            f"record sharing ended for user {ending.user_id}",
        )
