"""Reading and writing people's records on behalf of a caller (access policy and audit trail of
songkhoe.auth.caller), and reading shared reference data (queues, practitioners)."""

from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlencode

from songkhoe.auth.caller import Caller
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceStore


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def search(caller: Caller, resource_type: str, items: list[tuple[str, str]]) -> list[dict]:
    """The resources of a search that the caller may see, audited as one search."""
    query = parse_query(resource_type, items)
    query.restrict = caller.access.restriction
    with caller.store.engine.connect() as conn:
        found = [r for _, r in fhir_search.page(conn, resource_type, query)]
    caller.audit_found("search-type", found, f"{resource_type}?{urlencode(items)}")
    return found


def reference_data(
    store: ResourceStore, resource_type: str, items: list[tuple[str, str]]
) -> list[dict]:
    """Shared reference data (Organization, PractitionerRole, Practitioner): no person in it,
    readable by every authenticated caller, so neither restricted nor audited."""
    with store.engine.connect() as conn:
        return [
            r for _, r in fhir_search.page(conn, resource_type, parse_query(resource_type, items))
        ]


def write(
    caller: Caller, *, create: Iterable[dict] = (), update: Iterable[dict] = ()
) -> list[dict]:
    """Create and update resources in one transaction, each write checked against the caller's
    access and the whole audited in one AuditEvent; a refusal writes nothing and is audited."""
    create, update = list(create), list(update)
    refs = [f"{r['resourceType']}/{r.get('id', '')}" for r in create + update]
    with caller.refusals("transaction", refs):
        with caller.store.transaction(caller.guard("transaction")) as writer:
            return writer.create_many(create) + [writer.update(r) for r in update]
