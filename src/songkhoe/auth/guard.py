"""The write guard of a FHIR request: access control on every write (and bundle read) of a
transaction, and the AuditEvent of the transaction written inside it, so the trail is complete
exactly when the data is (all or nothing)."""

from sqlalchemy import Connection

from songkhoe.auth.audit import RequestContext, audit_event
from songkhoe.auth.policy import Access, live_content, patients_referenced
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import Writer


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
        conn: Connection,
        action: str,
        resource_type: str,
        resource_id: str,
        content: dict | None,
    ) -> None:
        access = self.access
        access.require(resource_type, "read" if action == "read" else "write")
        if action in ("update", "delete"):
            existing = live_content(conn, resource_type, resource_id)
            if existing is not None and not access.can_see(conn, existing):
                raise not_found(resource_type, resource_id)
        if content is not None:
            people = patients_referenced(content)
            if action == "read":
                if not access.can_see(conn, content):
                    raise not_found(resource_type, resource_id)
            elif resource_type == "Patient":
                access.check_station(content)
                self.new_patients.add(resource_id)
            elif not people and not (access.unrestricted or access.principal.kind == "client"):
                raise FhirError.single(
                    403,
                    "forbidden",
                    f"{resource_type} is shared reference data: only administrators change it",
                )
            elif not access.check_people(conn, people - self.new_patients):
                raise FhirError.single(
                    403, "forbidden", f"{resource_type} refers to a person outside your place"
                )
            self.references += sorted(f"Patient/{p}" for p in people if p != resource_id)
        self.references.append(f"{resource_type}/{resource_id}")

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
        writer.create_many([event], check=False)
