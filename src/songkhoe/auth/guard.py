"""The write guard of a FHIR request: access control on every write (and bundle read) of a
transaction, and the AuditEvent of the transaction written inside it, committed with the data
(all or nothing); a refused write is audited apart (Caller.refusals)."""

from sqlalchemy import Connection

from songkhoe.auth.audit import RequestContext, audit_event
from songkhoe.auth.policy import Access, patients_referenced
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.restrictions import last_content
from songkhoe.fhir.store import Writer


def _reference_data(resource_type: str) -> FhirError:
    return FhirError.single(
        403,
        "forbidden",
        f"{resource_type} names no person: shared reference data, changed only by callers who "
        "see everyone",
    )


def not_found(resource_type: str, resource_id: str) -> FhirError:
    """What a caller gets for a record outside their scope: the same answer as for a record that
    does not exist, so ids cannot be probed."""
    return FhirError.single(404, "not-found", f"{resource_type}/{resource_id} does not exist")


class AccessGuard:
    def __init__(self, access: Access, context: RequestContext, interaction: str) -> None:
        self.access = access
        self.context = context
        self.interaction = interaction
        self.references: list[str] = []
        self.new_patients: set[str] = set()

    def check(
        self,
        writer: Writer,
        action: str,
        resource_type: str,
        resource_id: str,
        content: dict | None,
    ) -> None:
        """Raise FhirError unless the caller may do this; the database is read (through
        `writer.conn`, which begins the transaction) only for what the principal's rights
        leave open."""
        access = self.access
        access.require(resource_type, "read" if action == "read" else "write")
        if action == "read":
            if content is None or not access.can_see(writer.conn, content):
                raise not_found(resource_type, resource_id)
            self._note(resource_type, resource_id, patients_referenced(content))
            return
        if action in ("update", "delete"):  # also a deleted record: an update would revive it
            existing = last_content(writer.conn, resource_type, resource_id)
            if existing is not None:
                if not access.can_see(writer.conn, existing):
                    raise not_found(resource_type, resource_id)
                if not patients_referenced(existing) and not access.unrestricted:
                    raise _reference_data(resource_type)
        people = patients_referenced(content) if content is not None else set()
        if content is not None:
            if resource_type == "Patient":
                access.check_station(content)
                self.new_patients.add(resource_id)
            elif not people and not access.unrestricted:
                raise _reference_data(resource_type)
            if not access.unrestricted:
                self._check_links(writer.conn, resource_type, resource_id, content, people)
        self._note(resource_type, resource_id, people)

    def _check_links(
        self,
        conn: Connection,
        resource_type: str,
        resource_id: str,
        content: dict,
        people: set[str],
    ) -> None:
        """A restricted caller's write may name only people they see (besides those the
        transaction registers) and attach only where the visibility rules let them (telehealth:
        to consultations they take part in)."""
        others = people - {resource_id} - self.new_patients
        if not self.access.check_people(conn, others):
            raise FhirError.single(
                403, "forbidden", f"{resource_type} refers to a person outside your place"
            )
        refusal = self.access.attachment_refusal(conn, content)
        if refusal is not None:
            raise FhirError.single(403, "forbidden", f"{resource_type} {refusal}")

    def _note(self, resource_type: str, resource_id: str, people: set[str]) -> None:
        self.references += sorted(f"Patient/{p}" for p in people if p != resource_id)
        self.references.append(f"{resource_type}/{resource_id}")

    def visible(self, resource_type: str, rows, per_row: bool) -> object | None:
        return self.access.restriction(resource_type, rows, per_row)

    def check_chains(self, chained: dict[str, str]) -> None:
        """A conditional operation's criteria chain through no type the caller may not read
        (FhirError 403, audited with the refused write): `If-None-Exist:
        subject:Patient.identifier=<CCCD>` would tell whether that person has such a record."""
        refused = self.access.chain_refusal(chained)
        if refused is not None:
            raise refused

    def finish(self, writer: Writer) -> None:
        if not self.references:
            return
        event = audit_event(
            principal=self.access.principal,
            context=self.context,
            interaction=self.interaction,
            outcome="success",
            references=list(dict.fromkeys(self.references)),
        )
        writer.create_many([event], check=False, stage=True)  # with the staged writes
