"""The authenticated caller of one request (API or UI): their access rights, where the request
came from, and the audit trail of what they read and write."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from songkhoe.auth.audit import RequestContext, audit_event, record
from songkhoe.auth.guard import AccessGuard, not_found
from songkhoe.auth.models import Principal
from songkhoe.auth.policy import Access, patients_referenced
from songkhoe.auth.service import grant_access
from songkhoe.db.engine import reading
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.restrictions import last_content
from songkhoe.fhir.store import ResourceGone, ResourceStore


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
        description: str | None = None,
    ) -> None:
        event = audit_event(
            principal=self.principal,
            context=self.context,
            interaction=interaction,
            outcome=outcome,
            references=list(dict.fromkeys(references)),
            query=query,
            description=description,
        )
        record(self.store, event)

    def share(
        self,
        *,
        user_id: str,
        patient_id: str,
        reason: str,
        basis: str | None = None,
        expires_in: timedelta | None = None,
    ) -> None:
        """Share a person's record with one user under a recorded reason (Decree 13/2023,
        art. 11): only a record the caller can see, and audited."""
        self.read("operation", "Patient", patient_id)
        grant_access(
            self.store.engine,
            user_id=user_id,
            patient_id=patient_id,
            reason=reason,
            basis=basis,
            granted_by=self.principal.id,
            expires_in=expires_in,
        )
        self.audit(
            "operation",
            [f"Patient/{patient_id}", *([basis] if basis else [])],
            description=f"record shared with user {user_id}: {reason}",
        )

    def search(
        self, resource_type: str, items: list[tuple[str, str]], label: str | None = None
    ) -> list[dict]:
        """The resources of a FHIR search (with those it `_include`s) that the caller may see,
        audited as one search of the people they name; `label` names the search in the audit
        (default: the query string)."""
        found = self.visible(resource_type, items)
        self.audit_found("search-type", found, label or f"{resource_type}?{urlencode(items)}")
        return found

    def visible(self, resource_type: str, items: list[tuple[str, str]]) -> list[dict]:
        """What `search` finds, not audited: for a caller that audits what it shows itself
        (`audit_found`), or a worker's poll that shows nothing."""
        query = self.search_request(resource_type, items)
        with self.store.engine.connect() as conn:
            found = [r for _, r in fhir_search.page(conn, resource_type, query)]
            ids = [r["id"] for r in found]
            return found + fhir_search.included(conn, resource_type, ids, query)[0]

    def search_request(
        self, resource_type: str, items: list[tuple[str, str]]
    ) -> fhir_search.SearchRequest:
        """A search on the caller's behalf: only the records they may see, `_include` and
        `_revinclude` leaving out the types they may not read, and a chained parameter through
        such a type refused (403, audited): `subject:Patient.identifier=<CCCD>` would tell
        whose Observations these are without Patient read (search.html#chaining)."""
        query = fhir_search.parse_query(resource_type, items)
        refused = self.access.chain_refusal(query.chained)
        if refused is not None:
            label = f"{resource_type}?{urlencode(items)}"
            self.audit("search-type", [], outcome="refused", query=label)
            raise refused
        query.restrict = self.access.restriction
        query.readable = self.access.may_read
        return query

    def audit_found(self, interaction: str, found: list[dict], query: str) -> None:
        """Audit a search: the people whose data it returned, and the query."""
        people = sorted({f"Patient/{p}" for r in found for p in patients_referenced(r)})
        self.audit(interaction, people, query=query)

    @contextmanager
    def refusals(self, interaction: str, references: list[str]) -> Iterator[None]:
        """Audit a write that the access policy refuses (its own AuditEvent went down with the
        rolled-back transaction)."""
        try:
            yield
        except FhirError as exc:
            if exc.status in (403, 404):
                self.audit(interaction, references, outcome="refused")
            raise

    def read(self, interaction: str, resource_type: str, resource_id: str) -> dict:
        """The live resource, audited; a deleted one answers 410 only to whoever could see it
        (others get the same 404 as for an id that never existed)."""
        try:
            return self.readable(interaction, self.store.read(resource_type, resource_id))
        except ResourceGone:
            with reading(self.store.engine) as conn:
                last = last_content(conn, resource_type, resource_id)
            if last is None:
                raise not_found(resource_type, resource_id) from None
            self.readable(interaction, last)  # 404 for whoever could not have seen it
            raise

    def readable(self, interaction: str, content: dict) -> dict:
        """The resource if the caller may see it, audited either way; a 404 FhirError if not."""
        return self.readable_all(interaction, [content])[0]

    def readable_all(self, interaction: str, versions: list[dict]) -> list[dict]:
        """Versions of one resource, if the caller may see every one of them (a record may have
        moved between communes), in one AuditEvent either way; a 404 FhirError if not."""
        first = versions[0]
        ref = f"{first['resourceType']}/{first['id']}"
        people = sorted({f"Patient/{p}" for v in versions for p in patients_referenced(v)})
        with reading(self.store.engine) as conn:
            visible = all(self.access.can_see(conn, v) for v in versions)
        self.audit(interaction, [ref, *people], outcome="success" if visible else "refused")
        if not visible:
            raise not_found(first["resourceType"], first["id"])
        return [self.access.present(v) for v in versions]
