"""Transaction and batch Bundles (http://hl7.org/fhir/R4/http.html#transaction).

A transaction runs all its entries in one store transaction, in the order http.html#trules sets:
DELETE, then POST, then PUT, then GET; any failure fails the whole Bundle and nothing is written.
`fullUrl`s (urn:uuid:, urn:oid: or absolute URLs) are mapped to the ids the entries get, and every
`reference` inside the resources that names one is rewritten to `Type/id`; conditional references
(`Patient?identifier=sys|val`) are replaced by their single match (http.html#trules, #cond-update).
A batch runs each entry on its own; a failing entry answers with its status and an
OperationOutcome (http.html#brules).

Errors name the entry: `Bundle.entry[2].resource.birthDate` (0-based, as FHIRPath counts).
"""

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import select

from songkhoe.db.tables import resource as resource_table
from songkhoe.fhir.identifiers import (
    condition_key,
    first_taken,
    taken,
    unique_identifiers,
    unique_keys,
)
from songkhoe.fhir.outcomes import FhirError, Issue, from_exception, operation_outcome
from songkhoe.fhir.search import InvalidSearch, page, parse_query
from songkhoe.fhir.searchparams import UnknownSearchParameter, resource_types
from songkhoe.fhir.store import (
    ID_PATTERN,
    ResourceGone,
    ResourceNotFound,
    ResourceStore,
    StoreError,
    VersionConflict,
    WriteGuard,
    Writer,
    new_id,
)
from songkhoe.fhir.validation import local_reference, validate

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}  # http.html#trules
_ETAG = re.compile(r'(?:W/)?"(\d+)"')
_LEADING_TYPE = re.compile(r"[A-Z][A-Za-z]*")
_REFERENCE = re.compile(rb'"reference":"([^"\\\\]*)"')
_ERRORS = (FhirError, StoreError, InvalidSearch, UnknownSearchParameter)


@dataclass(slots=True)
class _Entry:
    """One parsed Bundle entry and, once processed, its response entry."""

    index: int
    method: str
    resource_type: str
    resource_id: str | None = None
    query: list[tuple[str, str]] | None = None  # a conditional url: Type?query
    resource: dict = field(default_factory=dict)  # POST and PUT; GET: once read
    full_url: str | None = None
    if_none_exist: list[tuple[str, str]] | None = None
    if_match: int | None = None
    target_id: str | None = None  # the id the entry resolved to
    response: dict = field(default_factory=dict)


GuardFactory = Callable[[str], WriteGuard | None]


def _invalid(message: str, expression: str, code: str = "invalid") -> FhirError:
    return FhirError.single(400, code, message, expression)


def _located(error: FhirError, index: int) -> FhirError:
    """The error with its expressions rooted at `Bundle.entry[index]` (a resource's own paths,
    `Patient.birthDate`, become `Bundle.entry[index].resource.birthDate`)."""
    where = f"Bundle.entry[{index}]"

    def locate(expression: str) -> str:
        if _LEADING_TYPE.match(expression):
            return _LEADING_TYPE.sub(f"{where}.resource", expression, count=1)
        return f"{where}.{expression}"

    return FhirError(
        error.status,
        [
            Issue(
                issue.code,
                f"{where}: {issue.diagnostics}",
                tuple(map(locate, issue.expression)) or (where,),
                issue.severity,
            )
            for issue in error.issues
        ],
    )


@contextmanager
def _at(index: int) -> Iterator[None]:
    """Turn the errors raised while handling entry `index` into FhirErrors that name it."""
    try:
        yield
    except _ERRORS as exc:
        raise _located(from_exception(exc), index) from None


class CreateFailed(Exception):
    """`create_all` failed on `resources[index]`."""

    def __init__(self, index: int, cause: StoreError) -> None:
        super().__init__(str(cause))
        self.index = index
        self.cause = cause


def create_all(writer: Writer, resources: Sequence[dict]) -> list[dict]:
    """`writer.create_many`, staged: the rows go into the database with those staged after them
    (a transaction Bundle's AuditEvent), at the next use of `writer.conn` or the commit. A
    resource that cannot be created (invalid content, an id given twice) is raised as
    CreateFailed, and nothing of them is staged."""
    given: dict[tuple[Any, Any], int] = {}
    for index, res in enumerate(resources):
        key = (res.get("resourceType"), res.get("id")) if isinstance(res, dict) else None
        if key is not None and key[1] is not None and given.setdefault(key, index) != index:
            message = f"{key[0]}/{key[1]} is also resource {given[key]} of the batch"
            raise CreateFailed(index, VersionConflict(message))
    try:
        return writer.create_many(resources, stage=True)
    except StoreError:
        for index, res in enumerate(resources):
            try:
                writer.prepare([res], check=False)  # the guard saw them
            except StoreError as exc:
                raise CreateFailed(index, exc) from None
        raise


# --- parsing ------------------------------------------------------------------------------


def _parse_url(url: Any, base_url: str) -> tuple[str, str | None, list[tuple[str, str]] | None]:
    """`Type`, `Type/id` or `Type?query`, relative or under `base_url` (http.html#transaction)."""
    if not isinstance(url, str) or not url:
        raise _invalid("request.url is required", "request.url")
    base = base_url.rstrip("/") + "/"
    relative = url.removeprefix(base) if base_url else url
    path, has_query, query = relative.partition("?")
    parts = path.strip("/").split("/")
    if parts[0] not in resource_types():
        raise _invalid(f"request.url {url!r} does not name a resource type", "request.url")
    if len(parts) > 2 or (has_query and len(parts) > 1):
        raise _invalid(
            f"request.url {url!r}: only Type, Type/id and Type?query are supported",
            "request.url",
            "not-supported",
        )
    resource_id = parts[1] if len(parts) == 2 else None
    if resource_id is not None and not ID_PATTERN.fullmatch(resource_id):
        raise _invalid(f"request.url {url!r}: {resource_id!r} is not a valid id", "request.url")
    return parts[0], resource_id, parse_qsl(query, keep_blank_values=True) if has_query else None


def parse_condition(resource_type: str, condition: str) -> list[tuple[str, str]]:
    """The search parameters of a conditional create's condition (If-None-Exist, ifNoneExist):
    a query string, with or without `Type?` or `?` before it (http.html#ccreate)."""
    query = condition.removeprefix(f"{resource_type}?").removeprefix("?")
    return parse_qsl(query, keep_blank_values=True)


def _parse_if_match(value: Any) -> int | None:
    if value is None:
        return None
    match = _ETAG.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _invalid(f'request.ifMatch must be W/"version", got {value!r}', "request.ifMatch")
    return int(match.group(1))


def _parse_entry(index: int, raw: Any, base_url: str) -> _Entry:
    """Check one entry's request and resource, and validate the resource."""
    request = raw.get("request") if isinstance(raw, dict) else None
    if not isinstance(request, dict):
        raise _invalid("request is required in a transaction or batch", "request")
    method = request.get("method")
    if method == "PATCH":
        raise _invalid("PATCH is not supported", "request.method", "not-supported")
    if not isinstance(method, str) or method not in ORDER:
        raise _invalid(f"request.method {method!r} is not one of {', '.join(ORDER)}", "request")
    for unsupported in ("ifNoneMatch", "ifModifiedSince"):
        if unsupported in request:
            raise _invalid(f"request.{unsupported} is not supported", "request", "not-supported")
    resource_type, resource_id, query = _parse_url(request.get("url"), base_url)
    full_url = raw.get("fullUrl")
    if full_url is not None and not isinstance(full_url, str):
        raise _invalid("fullUrl must be a string", "fullUrl")
    try:  # as the references to it are (validation): under this server's base, made relative
        full_url = None if full_url is None else local_reference(full_url)
    except ValueError as exc:
        raise _invalid(f"fullUrl {full_url!r}: {exc}", "fullUrl") from None
    entry = _Entry(index, method, resource_type, resource_id, query, full_url=full_url)
    entry.target_id = resource_id if method in ("DELETE", "PUT") else None
    entry.if_match = _parse_if_match(request.get("ifMatch"))
    if entry.if_match is not None and method != "PUT":
        raise _invalid("request.ifMatch is supported on PUT only", "request", "not-supported")
    if "ifNoneExist" in request:
        if method != "POST":
            raise _invalid("request.ifNoneExist belongs to a POST", "request.ifNoneExist")
        condition = request["ifNoneExist"]
        if not isinstance(condition, str):
            raise _invalid("request.ifNoneExist must be a query string", "request.ifNoneExist")
        entry.if_none_exist = parse_condition(resource_type, condition)
    if method == "POST" and (resource_id or query is not None):
        raise _invalid("a POST url is the resource type alone", "request.url")
    if method == "GET" and query is not None:
        raise _invalid("search inside a Bundle is not supported", "request.url", "not-supported")
    if method in ("GET", "DELETE") and resource_id is None and query is None:
        raise _invalid(f"a {method} url needs an id or a query", "request.url")
    if method in ("POST", "PUT"):
        entry.resource = _checked_resource(raw.get("resource"), entry)
    return entry


def _checked_resource(res: Any, entry: _Entry) -> dict:
    if not isinstance(res, dict):
        raise _invalid(f"a {entry.method} entry needs a resource", "resource", "required")
    if res.get("resourceType") != entry.resource_type:
        raise _invalid(
            f"resource.resourceType {res.get('resourceType')!r} does not match the url's "
            f"{entry.resource_type}",
            "resource.resourceType",
        )
    if entry.resource_id is not None and res.get("id") not in (None, entry.resource_id):
        raise _invalid(
            f"resource.id {res.get('id')!r} differs from the url's id {entry.resource_id!r}",
            "resource.id",
        )
    validate(res)
    return res


def _raw_entries(bundle: dict) -> list:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise _invalid("Bundle.entry must be an array", "Bundle.entry")
    return entries


def _parse_all(raw_entries: list, base_url: str) -> list[_Entry]:
    parsed: list[_Entry] = []
    try:
        for index, raw in enumerate(raw_entries):
            parsed.append(_parse_entry(index, raw, base_url))
    except _ERRORS as exc:  # at the entry after the last one parsed
        raise _located(from_exception(exc), len(parsed)) from None
    return parsed


# --- processing ---------------------------------------------------------------------------


def _lock_up_front(writer: Writer, entries: Sequence[_Entry]) -> None:
    """Take, before any search or write, the lock of each conditional write's query and of
    each CCCD that a Patient written gets (songkhoe.fhir.identifiers), then those of the
    resources that PUT and DELETE entries name by id, each kind in sorted order: two Bundles
    then take their common locks in one order and cannot deadlock. The search and the write it
    decides happen in one transaction that no other write under the same condition interleaves
    with, so two concurrent conditional creates make one resource (http.html#ccreate)."""
    keys = {
        condition_key(e.resource_type, condition)
        for e in entries
        if (condition := e.if_none_exist if e.method == "POST" else e.query) is not None
    }
    keys |= unique_keys(e.resource for e in entries if e.method in ("POST", "PUT"))
    for key in sorted(keys):
        writer.lock(key)
    targets = {
        (e.resource_type, e.resource_id)
        for e in entries
        if e.method in ("PUT", "DELETE") and e.resource_id is not None
    }
    for resource_type, resource_id in sorted(targets):
        writer.lock_resource(resource_type, resource_id)


def conditional_matches(writer: Writer, resource_type: str, query: list[tuple[str, str]]) -> list:
    """The matches of a conditional create's query (If-None-Exist), under the query's lock,
    which the transaction then holds: its create, if any, cannot race another."""
    writer.lock(condition_key(resource_type, query))
    return _matches(writer, resource_type, query)


def _matches(writer: Writer, resource_type: str, query: list[tuple[str, str]]) -> list:
    """The live resources a conditional operation's query finds among those the caller may see
    (the guard's), at most two (enough to tell none, one and many apart)."""
    request = parse_query(resource_type, query)
    if not request.criteria:
        raise _invalid("a conditional operation needs search criteria", "request")
    request.count = 2
    if writer.guard is not None:
        writer.guard.check_chains(request.chained)
        request.restrict = writer.guard.visible
    return [content for _, content in page(writer.conn, resource_type, request)]


def _too_many(what: str) -> FhirError:
    return FhirError.single(412, "multiple-matches", f"{what} matches more than one resource")


def _status_line(status: HTTPStatus) -> str:
    return f"{status.value} {status.phrase}"


def _version_response(stored: dict, status: HTTPStatus) -> dict:
    version = stored["meta"]["versionId"]
    return {
        "status": _status_line(status),
        "location": f"{stored['resourceType']}/{stored['id']}/_history/{version}",
        "etag": f'W/"{version}"',
        "lastModified": stored["meta"]["lastUpdated"],
    }


def _delete(writer: Writer, entry: _Entry) -> None:
    """Delete by id, or conditionally: none found is a no-op, more than one is 412."""
    if entry.query is not None:
        found = _matches(writer, entry.resource_type, entry.query)
        if len(found) > 1:
            raise _too_many("the conditional delete")
        entry.target_id = found[0]["id"] if found else None
    entry.response = {"status": _status_line(HTTPStatus.NO_CONTENT)}
    if entry.target_id is not None:
        version = writer.delete(entry.resource_type, entry.target_id)
        entry.response["etag"] = f'W/"{version}"'


def _resolve_create(writer: Writer, entry: _Entry) -> None:
    """A new id, or with ifNoneExist the single existing match (http.html#ccreate)."""
    if entry.if_none_exist is None:
        entry.target_id = new_id()
        return
    found = _matches(writer, entry.resource_type, entry.if_none_exist)
    if len(found) > 1:
        raise _too_many("ifNoneExist")
    if found:
        entry.target_id = found[0]["id"]
        entry.response = _version_response(found[0], HTTPStatus.OK)
    else:
        entry.target_id = new_id()


def _resolve_update(writer: Writer, entry: _Entry) -> None:
    """The id a PUT writes: the url's, or a conditional update's single match (or, with none,
    the resource's own id or a new one) (http.html#cond-update)."""
    if entry.query is None:
        return
    found = _matches(writer, entry.resource_type, entry.query)
    if len(found) > 1:
        raise _too_many("the conditional update")
    own_id = entry.resource.get("id")
    if found and own_id not in (None, found[0]["id"]):
        raise _invalid(
            f"resource.id {own_id!r} differs from the match {found[0]['id']!r}", "resource.id"
        )
    entry.target_id = found[0]["id"] if found else own_id or new_id()


def _check_overlaps(entries: Sequence[_Entry]) -> None:
    """No resource may be the target of two DELETE/PUT entries, and no fullUrl may repeat
    (http.html#trules)."""
    targets: dict[tuple[str, str], int] = {}
    full_urls: dict[str, int] = {}
    for entry in entries:
        if entry.method in ("DELETE", "PUT") and entry.target_id is not None:
            key = (entry.resource_type, entry.target_id)
            if key in targets:
                message = f"{key[0]}/{key[1]} is also the target of Bundle.entry[{targets[key]}]"
                raise _located(_invalid(message, "request"), entry.index)
            targets[key] = entry.index
        if entry.full_url is not None and entry.method in ("POST", "PUT"):
            first = full_urls.setdefault(entry.full_url, entry.index)
            if first != entry.index:
                message = f"fullUrl {entry.full_url} repeats Bundle.entry[{first}]"
                raise _located(_invalid(message, "fullUrl"), entry.index)


class _References:
    """Rewrites the references of the resources written by a Bundle."""

    def __init__(self, writer: Writer, full_urls: dict[str, str]) -> None:
        self.writer = writer
        self.full_urls = full_urls
        self.conditional: dict[str, str] = {}
        self.replacements: dict[bytes, bytes] = {}  # each `"reference":"..."` met, rewritten

    def target(self, reference: str) -> str:
        if reference in self.full_urls:
            return self.full_urls[reference]
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            raise FhirError.single(
                404, "not-found", f"reference {reference} is not the fullUrl of an entry"
            )
        resource_type, has_query, query = reference.partition("?")
        if not has_query or resource_type not in resource_types():
            return reference
        if reference not in self.conditional:
            found = _matches(self.writer, resource_type, parse_qsl(query))
            if len(found) != 1:
                raise FhirError.single(
                    412,
                    "not-found" if not found else "multiple-matches",
                    f"conditional reference {reference} matches "
                    f"{'no' if not found else 'more than one'} resource",
                )
            self.conditional[reference] = f"{resource_type}/{found[0]['id']}"
        return self.conditional[reference]

    def rewritten(self, resources: list[dict]) -> list[dict]:
        """The resources with their references rewritten (copies if any changed). References
        are found in orjson's compact serialisation of them all: faster than walking the trees
        in Python, and a `"reference":"` inside a string value is escaped there, so never
        matched."""
        data = orjson.dumps(resources)
        new = _REFERENCE.sub(self._replace, data)
        return resources if new == data else orjson.loads(new)

    def _replace(self, match: re.Match[bytes]) -> bytes:
        found = match.group(0)
        replacement = self.replacements.get(found)
        if replacement is None:
            reference = match.group(1).decode()
            target = self.target(reference)
            replacement = found if target == reference else b'"reference":"%s"' % target.encode()
            self.replacements[found] = replacement
        return replacement


def _read(writer: Writer, entry: _Entry, base_url: str) -> None:
    """GET Type/id, seeing this transaction's writes; the writer's guard checks the read."""
    row = writer.conn.execute(
        select(resource_table.c.deleted, resource_table.c.content).where(
            resource_table.c.res_type == entry.resource_type,
            resource_table.c.res_id == entry.resource_id,
            resource_table.c.is_current,
        )
    ).first()
    name = f"{entry.resource_type}/{entry.resource_id}"
    if row is None:
        raise ResourceNotFound(f"{name} does not exist")
    if row.deleted:
        raise ResourceGone(f"{name} was deleted")
    if writer.guard is not None:
        writer.guard.check(writer, "read", entry.resource_type, entry.resource_id, row.content)
    response = _version_response(row.content, HTTPStatus.OK)
    del response["location"]
    entry.response = response
    entry.resource = row.content
    entry.full_url = f"{base_url.rstrip('/')}/{name}" if base_url else name


def _put(writer: Writer, entry: _Entry) -> None:
    try:
        stored = writer.update(entry.resource, if_match=entry.if_match)
    except VersionConflict as exc:
        if entry.if_match is None:
            raise
        raise FhirError.single(412, "conflict", str(exc)) from None
    status = HTTPStatus.CREATED if stored["meta"]["versionId"] == "1" else HTTPStatus.OK
    entry.response = _version_response(stored, status)


def _execute(writer: Writer, entries: Sequence[_Entry], base_url: str) -> None:
    """Process parsed entries inside one transaction, filling in their responses."""
    _check_overlaps(entries)  # the targets named by id, before anything is written
    _lock_up_front(writer, entries)
    by_method: dict[str, list[_Entry]] = {method: [] for method in ORDER}
    for entry in entries:
        by_method[entry.method].append(entry)
    steps: dict[str, Callable[[Writer, _Entry], None]] = {
        "DELETE": _delete,
        "POST": _resolve_create,
        "PUT": _resolve_update,
    }
    for method, step in steps.items():
        for entry in by_method[method]:
            with _at(entry.index):
                step(writer, entry)
    _check_overlaps(entries)  # and those that conditional operations resolved to
    references = _References(
        writer,
        {
            e.full_url: f"{e.resource_type}/{e.target_id}"
            for e in entries
            if e.full_url is not None and e.target_id is not None and e.method in ("POST", "PUT")
        },
    )
    creates = [e for e in by_method["POST"] if not e.response]
    writes = creates + by_method["PUT"]
    try:
        rewritten = references.rewritten([e.resource for e in writes])
    except _ERRORS:
        for entry in writes:  # find the entry at fault
            with _at(entry.index):
                references.rewritten([entry.resource])
        raise
    for entry, res in zip(writes, rewritten, strict=True):
        entry.resource = {**res, "id": entry.target_id}
    try:
        created = create_all(writer, [e.resource for e in creates])
    except CreateFailed as exc:
        raise _located(from_exception(exc.cause), creates[exc.index].index) from None
    for entry, stored in zip(creates, created, strict=True):
        entry.response = _version_response(stored, HTTPStatus.CREATED)
    claiming = [e for e in writes if unique_identifiers(e.resource)]
    if claiming:  # among the Patients stored before this Bundle: the creates are still staged
        position = first_taken(writer.begin(), [(e.target_id, e.resource) for e in claiming])
        if position is not None:
            raise _located(taken(), claiming[position].index)
    for entry in by_method["PUT"]:
        with _at(entry.index):
            _put(writer, entry)
    for entry in by_method["GET"]:
        with _at(entry.index):
            _read(writer, entry, base_url)


def _response_entry(entry: _Entry) -> dict:
    response: dict[str, Any] = {"response": entry.response}
    if entry.method == "GET":
        response = {"fullUrl": entry.full_url, "resource": entry.resource, **response}
    return response


def _failed_entry(error: FhirError) -> dict:
    return {
        "response": {
            "status": _status_line(HTTPStatus(error.status)),
            "outcome": operation_outcome(error.issues),
        }
    }


def _batch_entry(
    store: ResourceStore, index: int, raw: Any, base_url: str, guard: GuardFactory
) -> dict:
    """One batch entry in a transaction of its own; a failure becomes its response."""
    try:
        with _at(index):
            entry = _parse_entry(index, raw, base_url)
        with store.transaction(guard("batch"), begin_on_first_use=True) as writer:
            _execute(writer, [entry], base_url)
    except _ERRORS as exc:
        return _failed_entry(from_exception(exc))
    return _response_entry(entry)


def _unguarded(_interaction: str) -> None:
    return None


def process_bundle(
    store: ResourceStore,
    bundle: dict,
    *,
    base_url: str,
    guard: GuardFactory = _unguarded,
    then: Callable[[Writer, dict], None] | None = None,
) -> dict:
    """Process a transaction or batch Bundle and return the transaction-response or
    batch-response Bundle; a failing transaction raises FhirError and writes nothing.

    `base_url` is the server's FHIR base (`https://host/fhir`): request urls under it are taken
    as relative, and GET entries answer with fullUrls under it. `guard(interaction)` makes the
    WriteGuard of each store transaction (access control and audit), if any. `then(writer,
    response)` writes what goes with the response (the response of an Idempotency-Key, the
    record of an import): in a transaction's own transaction, before it commits; after a
    batch's entries, each committed on its own, in a transaction of its own.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _invalid("the body must be a Bundle", "Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise _invalid(f"Bundle.type must be transaction or batch, not {kind!r}", "Bundle.type")
    raw_entries = _raw_entries(bundle)
    response: dict[str, Any] = {"resourceType": "Bundle", "type": f"{kind}-response"}
    if kind == "transaction":
        entries = _parse_all(raw_entries, base_url)
        with store.transaction(guard("transaction"), begin_on_first_use=True) as writer:
            _execute(writer, entries, base_url)
            response["entry"] = [_response_entry(e) for e in entries]
            if then is not None:
                then(writer, response)
        return response
    response["entry"] = [
        _batch_entry(store, i, raw, base_url, guard) for i, raw in enumerate(raw_entries)
    ]
    if then is not None:
        with store.transaction() as writer:
            then(writer, response)
    return response
