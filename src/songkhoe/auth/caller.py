"""The authenticated caller of one request (API or UI): their access rights, where the request
came from, and the audit trail of what they read and write."""

from dataclasses import dataclass

from songkhoe.auth.audit import RequestContext, audit_event, record
from songkhoe.auth.guard import AccessGuard, not_found
from songkhoe.auth.models import Principal
from songkhoe.auth.policy import Access, patients_referenced
from songkhoe.fhir.store import ResourceStore


@dataclass(frozen=True, slots=True)
class Caller:
    store: ResourceStore
    principal: Principal
    context: RequestContext

    @property
    def access(self) -> Access:
        return Access(self.principal)

    def guard(self, interaction: str) -> AccessGuard:
        """The write guard of one transaction (access checks and its AuditEvent)."""
        return AccessGuard(self.access, self.context, interaction)

    def audit(
        self,
        interaction: str,
        references: list[str],
        *,
        outcome: str = "success",
        query: str | None = None,
    ) -> None:
        event = audit_event(
            principal=self.principal,
            context=self.context,
            interaction=interaction,
            outcome=outcome,
            references=list(dict.fromkeys(references)),
            query=query,
        )
        record(self.store, event)

    def audit_found(self, interaction: str, found: list[dict], query: str) -> None:
        """Audit a search: the people whose data it returned, and the query."""
        people = sorted({f"Patient/{p}" for r in found for p in patients_referenced(r)})
        self.audit(interaction, people, query=query)

    def readable(self, interaction: str, content: dict) -> dict:
        """The resource if the caller may see it, audited either way; a 404 FhirError if not."""
        ref = f"{content['resourceType']}/{content['id']}"
        people = sorted(f"Patient/{p}" for p in patients_referenced(content))
        with self.store.engine.connect() as conn:
            visible = self.access.can_see(conn, content)
        self.audit(interaction, [ref, *people], outcome="success" if visible else "refused")
        if not visible:
            raise not_found(content["resourceType"], content["id"])
        return content
