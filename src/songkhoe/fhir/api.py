"""The FHIR R4 REST API at /fhir (http://hl7.org/fhir/R4/http.html), JSON only.

Interactions: capabilities, read, vread, create (also conditional, If-None-Exist), update (If-Match
optimistic locking), delete, history (instance and type), search (GET and POST _search),
transaction and batch, Patient/$everything, and the Bulk Data $export flow.

Every route but /metadata needs a bearer token (`FhirCallerDep`). Handlers that take a body read
it on the event loop and run their database work on the thread pool (`run_in_threadpool`); the
others are plain functions, which FastAPI runs on the thread pool.
"""

import re
from datetime import datetime
from email.utils import format_datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from songkhoe.auth.api import bearer_principal
from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import AccessGuard, not_found
from songkhoe.config import get_settings
from songkhoe.db.engine import reading
from songkhoe.fhir import bulk
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.bundles import conditional_matches, parse_condition, process_bundle
from songkhoe.fhir.capability import capability_statement, supported_types
from songkhoe.fhir.deps import StoreDep
from songkhoe.fhir.identifiers import (
    claim,
    condition_key,
    first_taken,
    lock,
    taken,
    unique_keys,
)
from songkhoe.fhir.indexing import date_range
from songkhoe.fhir.openapi import (
    BUNDLE,
    CAPABILITY_STATEMENT,
    EXPORT_MANIFEST,
    FHIR_ERRORS,
    FHIR_JSON,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_NONE_EXIST,
    LOCATION_HEADERS,
    NDJSON,
    NEW_RESOURCE,
    RESPOND_ASYNC,
    SEARCH_FORM,
    STORED_RESOURCE,
    TRANSACTION,
    VERSION_HEADERS,
    ResourceId,
    ResourceType,
    body_doc,
    header,
    response_doc,
)
from songkhoe.fhir.outcomes import FhirError, Issue, from_exception, operation_outcome
from songkhoe.fhir.retries import (
    RetryKey,
    StoredResponse,
    fingerprint,
    parse_key,
    remember,
    stored_response,
)
from songkhoe.fhir.search import InvalidSearch, SearchRequest
from songkhoe.fhir.searchparams import UnknownSearchParameter
from songkhoe.fhir.store import HistoryEntry, ResourceGone, StoreError, VersionConflict, Writer
from songkhoe.fhir.validation import validate

NDJSON_FORMATS = (NDJSON, "application/ndjson", "ndjson")
ACCEPTED_BODY_TYPES = (FHIR_JSON, "application/json")


class FhirResponse(JSONResponse):
    """FHIR JSON (http://hl7.org/fhir/R4/http.html#mime-type): what the OpenAPI description
    gives as the media type of the FHIR routes' answers."""

    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def fhir_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return FhirResponse(body, status, headers, media_type=f"{FHIR_JSON}; charset=utf-8")


def _version_headers(res: dict, base: str | None = None) -> dict[str, str]:
    meta = res["meta"]
    stamp = datetime.fromisoformat(meta["lastUpdated"].replace("Z", "+00:00"))
    headers = {"ETag": f'W/"{meta["versionId"]}"', "Last-Modified": format_datetime(stamp, True)}
    if base is not None:
        headers["Location"] = (
            f"{base}/{res['resourceType']}/{res['id']}/_history/{meta['versionId']}"
        )
    return headers


def _if_match(request: Request) -> int | None:
    value = request.headers.get("if-match")
    if value is None:
        return None
    digits = value.strip().removeprefix("W/").strip('"')
    if not digits.isdigit():
        raise FhirError.single(400, "invalid", f'If-Match must be W/"version", got {value!r}')
    return int(digits)


async def _body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in ACCEPTED_BODY_TYPES:
        raise FhirError.single(
            415, "not-supported", f"send JSON as {FHIR_JSON}, not {content_type or 'nothing'}"
        )
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise FhirError.single(400, "structure", f"the body is not valid JSON: {exc}") from None


def _checked_type(resource_type: str) -> str:
    if resource_type not in supported_types():
        raise FhirError.single(404, "not-supported", f"unknown resource type {resource_type!r}")
    return resource_type


def _resource_body(body: Any, resource_type: str) -> dict:
    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        found = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
        raise FhirError.single(
            400, "invalid", f"the body must be a {resource_type}, got {found!r}", "resourceType"
        )
    validate(body)
    return body


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _entry(base: str, res: dict, mode: str) -> dict:
    return {
        "fullUrl": f"{base}/{res['resourceType']}/{res['id']}",
        "resource": res,
        "search": {"mode": mode},
    }


def _page_link(request: Request, items: list[tuple[str, str]], offset: int) -> str:
    kept = [(k, v) for k, v in items if k != "_offset"] + [("_offset", str(offset))]
    return f"{_base(request)}/{request.path_params['resource_type']}?{urlencode(kept)}"


def _history_bundle(base: str, entries: list[HistoryEntry], present=lambda r: r) -> dict:
    def entry(e: HistoryEntry) -> dict:
        url = f"{e.resource_type}/{e.id}"
        method = "DELETE" if e.deleted else ("POST" if e.version == 1 else "PUT")
        status = "204 No Content" if e.deleted else ("201 Created" if e.version == 1 else "200 OK")
        item: dict[str, Any] = {
            "fullUrl": f"{base}/{url}",
            "request": {"method": method, "url": url},
            "response": {
                "status": status,
                "etag": f'W/"{e.version}"',
                "lastModified": e.last_updated,
            },
        }
        if e.resource is not None:
            item["resource"] = present(e.resource)
        return item

    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(entries),
        "entry": [entry(e) for e in entries],
    }


PURPOSE = re.compile(r"[A-Z]{3,12}")  # a v3-ActReason code, e.g. TREAT, ETREAT, PUBHLTH


async def fhir_caller(request: Request, store: StoreDep) -> Caller:
    """The caller of a FHIR request: its bearer token (401 without a valid one) and its
    X-Purpose-Of-Use. Async so that FastAPI does not hop to the thread pool for it: it runs on
    the event loop, as the token lookup of the writes always did."""
    principal = bearer_principal(store, request)
    purpose = request.headers.get("x-purpose-of-use")
    if purpose is not None and not PURPOSE.fullmatch(purpose):
        raise FhirError.single(400, "invalid", "X-Purpose-Of-Use must be a v3-ActReason code")
    address = request.client.host if request.client else None
    return Caller(store, principal, RequestContext(address, purpose))


FhirCallerDep = Annotated[Caller, Depends(fhir_caller)]


async def _retry_key(request: Request, caller: Caller) -> RetryKey | None:
    """The Idempotency-Key of a POST, the caller's own, if it has one (songkhoe.fhir.retries);
    a request without it costs nothing more."""
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    condition = request.headers.get("if-none-exist")
    return RetryKey(
        f"{caller.principal.kind}/{caller.principal.id}",
        parse_key(value),
        fingerprint(request.method, target, condition, await request.body()),
    )


def _replayed(caller: Caller, retry: RetryKey) -> Response | None:
    """The response stored with the key, sent again and audited as a read of what it names;
    None if there is none (a 422 FhirError if the key came with another request)."""
    stored = stored_response(caller.store.engine, retry)
    if stored is None:
        return None
    caller.audit(
        "read",
        stored.references,
        description="Idempotency-Key: the response of an earlier request, sent again; "
        "nothing written",
    )
    media_type = f"{FHIR_JSON}; charset=utf-8"
    return Response(stored.body, stored.status, stored.headers, media_type=media_type)


def _stored(response: Response, references: list[str]) -> StoredResponse:
    """What a retry gets again: the response's status, body and headers that say what was
    written (Location, ETag, Last-Modified), and the references of the write's AuditEvent."""
    headers = {
        name: value
        for name in ("Location", "ETag", "Last-Modified")
        if (value := response.headers.get(name)) is not None
    }
    return StoredResponse(
        response.status_code, headers, bytes(response.body), list(dict.fromkeys(references))
    )


async def exporter(caller: FhirCallerDep) -> Caller:
    """The caller of the Bulk Data routes: export of identifiable data needs an administrator,
    or a system client with read access to everything (registered by an administrator)."""
    p = caller.principal
    if not (p.is_admin or (p.kind == "client" and caller.access.unrestricted)):
        raise FhirError.single(403, "forbidden", "bulk export needs an administrator")
    return caller


ExporterDep = Annotated[Caller, Depends(exporter)]


# Public on purpose: the capability statement is how a client discovers the server before it
# has a token (http.html#capabilities). Included before `router`, whose GET /{resource_type}
# would take "metadata" for a type.
public = APIRouter(
    prefix="/fhir", tags=["FHIR R4"], responses=FHIR_ERRORS, default_response_class=FhirResponse
)


@public.get("/metadata", responses={200: response_doc(CAPABILITY_STATEMENT, "The server")})
def metadata(request: Request) -> Response:
    return fhir_response(capability_statement(_base(request)))


# Every other route needs a bearer token, also one that does not ask for the caller.
router = APIRouter(
    prefix="/fhir",
    tags=["FHIR R4"],
    responses=FHIR_ERRORS,
    dependencies=[Depends(fhir_caller)],
    default_response_class=FhirResponse,
)
SEARCHSET: dict[int | str, dict[str, Any]] = {200: response_doc(BUNDLE, "A searchset Bundle")}
HISTORY: dict[int | str, dict[str, Any]] = {200: response_doc(BUNDLE, "A history Bundle")}


@router.post(
    "",
    responses={200: response_doc(BUNDLE, "A transaction-response or batch-response Bundle")},
    openapi_extra=body_doc(TRANSACTION, "A transaction or batch Bundle", IDEMPOTENCY_KEY),
)
@router.post("/", include_in_schema=False)
async def transaction(request: Request, caller: FhirCallerDep) -> Response:
    bundle = await _body(request)
    retry = await _retry_key(request, caller)
    return await run_in_threadpool(transaction_of, request, caller, bundle, retry)


def transaction_of(
    request: Request, caller: Caller, bundle: Any, retry: RetryKey | None = None
) -> Response:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError.single(400, "invalid", "POST /fhir takes a Bundle", "resourceType")
    if retry is not None and (replay := _replayed(caller, retry)) is not None:
        return replay
    guards: list[AccessGuard] = []

    def guard(interaction: str) -> AccessGuard:
        guards.append(caller.guard(interaction))
        return guards[-1]

    then = None if retry is None else partial(_remember_bundle, retry, guards)
    with caller.refusals(bundle.get("type", "transaction"), []):
        response = process_bundle(
            caller.store, bundle, base_url=_base(request), guard=guard, then=then
        )
    return fhir_response(response)


def _remember_bundle(
    retry: RetryKey, guards: list[AccessGuard], writer: Writer, response: dict
) -> None:
    """Store a Bundle's response with its Idempotency-Key (`process_bundle`'s `then`), with what
    the AuditEvents of its transactions named."""
    references = [r for g in guards for r in g.references]
    remember(writer, retry, _stored(fhir_response(response), references))


@router.get(
    "/$export",
    status_code=202,
    response_class=Response,
    responses={202: {"description": "Started", "headers": {"Content-Location": header("Status")}}},
    openapi_extra={"parameters": [RESPOND_ASYNC]},
)
def export_kick_off(
    request: Request,
    caller: ExporterDep,
    _type: str | None = None,
    _since: str | None = None,
    _outputFormat: str = "application/fhir+ndjson",  # noqa: N803 (the spec's name)
) -> Response:
    """Bulk Data kick-off (bulkdata/STU1.0.1/export.html#bulk-data-kick-off-request)."""
    types = _type.split(",") if _type else None
    if types is None and not caller.access.sees_all_types():
        raise FhirError.single(403, "forbidden", "exporting every type needs a */read scope")
    for resource_type in types or []:
        caller.access.require(resource_type, "read")
    if request.headers.get("prefer") != "respond-async":
        raise FhirError.single(400, "invalid", "$export needs the header Prefer: respond-async")
    if _outputFormat not in NDJSON_FORMATS:
        raise FhirError.single(400, "not-supported", f"_outputFormat {_outputFormat!r}")
    job_id = bulk.start_export(
        caller.store,
        export_dir=get_settings().export_dir,
        types=types,
        since=_since,
        request_url=str(request.url),
    )
    caller.audit("operation", [], query=str(request.url.query) or "$export")
    location = f"{_base(request)}/$export-status/{job_id}"
    return Response(status_code=202, headers={"Content-Location": location})


@router.get(
    "/$export-status/{job_id}",
    dependencies=[Depends(exporter)],
    response_class=JSONResponse,
    responses={
        200: {
            "description": "The manifest",
            "content": {"application/json": {"schema": EXPORT_MANIFEST}},
        },
        202: {"description": "In progress", "headers": {"X-Progress": header("Progress")}},
    },
)
def export_status(request: Request, job_id: str) -> Response:
    status = bulk.export_status(
        get_settings().export_dir, job_id, files_base_url=f"{_base(request)}/$export-files"
    )
    if status.state == "in-progress":
        return Response(status_code=202, headers={"X-Progress": status.progress or ""})
    if status.state == "error":
        raise FhirError.single(500, "exception", status.error or "the export failed")
    return Response(orjson.dumps(status.manifest), 200, media_type="application/json")


@router.delete(
    "/$export-status/{job_id}",
    dependencies=[Depends(exporter)],
    status_code=202,
    response_class=Response,
)
def export_delete(job_id: str) -> Response:
    bulk.delete_export(get_settings().export_dir, job_id)
    return Response(status_code=202)


@router.get(
    "/$export-files/{job_id}/{name}",
    response_class=FileResponse,
    responses={200: {"description": "NDJSON", "content": {NDJSON: {"schema": {"type": "string"}}}}},
)
def export_file(caller: ExporterDep, job_id: str, name: str) -> Response:
    path = bulk.export_file_path(get_settings().export_dir, job_id, name)
    caller.audit("operation", [], query=f"$export-files/{job_id}/{name}")
    return FileResponse(path, media_type="application/fhir+ndjson")


@router.get("/Patient/{patient_id}/$everything", responses=SEARCHSET)
def everything(request: Request, caller: FhirCallerDep, patient_id: ResourceId) -> Response:
    caller.access.require("Patient", "read")
    patient = caller.read("operation", "Patient", patient_id)
    query = SearchRequest(restrict=caller.access.restriction)
    with reading(caller.store.engine) as conn:
        found = fhir_search.compartment(conn, patient_id, query)
    # one AuditEvent (written by caller.read) covers the person's whole record
    others = [
        caller.access.present(r)
        for r in found
        if caller.principal.allows(r["resourceType"], "read")
    ]
    base = _base(request)
    entries = [_entry(base, patient, "match")] + [_entry(base, r, "include") for r in others]
    return fhir_response(
        {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    )


def _left_out_entry(types: list[str]) -> dict:
    """The Bundle entry saying which types `_include`/`_revinclude` left out because the caller
    may not read them (search.html#errors: an OperationOutcome with search.mode `outcome`)."""
    issue = Issue(
        "suppressed",
        f"_include/_revinclude left out {', '.join(types)}: the caller may not read them",
        severity="warning",
    )
    return {"resource": operation_outcome([issue]), "search": {"mode": "outcome"}}


def run_search(
    request: Request, caller: Caller, resource_type: str, items: list[tuple[str, str]]
) -> Response:
    _checked_type(resource_type)
    caller.access.require(resource_type, "read")
    query = caller.search_request(resource_type, items)
    base = _base(request)
    with reading(caller.store.engine) as conn:
        matches = [] if query.summary_count else fhir_search.page(conn, resource_type, query)
        if 0 < len(matches) < query.count or (
            not matches and query.offset == 0 and not query.summary_count
        ):
            total = query.offset + len(matches)  # the last page: no need to count
        else:
            total = fhir_search.count(conn, resource_type, query)
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
        extra, left_out = fhir_search.included(conn, resource_type, [i for i, _ in matches], query)
    caller.audit_found(
        "search-type", [r for _, r in matches] + extra, f"{resource_type}?{urlencode(items)}"
    )
    if query.summary_count:
        return fhir_response(bundle)
    links = [{"relation": "self", "url": _page_link(request, items, query.offset)}]
    if query.offset + query.count < total:
        next_offset = query.offset + query.count
        links.append({"relation": "next", "url": _page_link(request, items, next_offset)})
    if query.offset > 0:
        previous = max(0, query.offset - query.count)
        links.append({"relation": "previous", "url": _page_link(request, items, previous)})
    bundle["link"] = links
    present = caller.access.present
    bundle["entry"] = [_entry(base, present(r), "match") for _, r in matches] + [
        _entry(base, present(r), "include") for r in extra
    ]
    if left_out:
        bundle["entry"].append(_left_out_entry(left_out))
    return fhir_response(bundle)


@router.get("/{resource_type}", responses=SEARCHSET)
def search_type(request: Request, caller: FhirCallerDep, resource_type: ResourceType) -> Response:
    return run_search(request, caller, resource_type, list(request.query_params.multi_items()))


@router.post("/{resource_type}/_search", responses=SEARCHSET, openapi_extra=SEARCH_FORM)
async def search_post(
    request: Request, caller: FhirCallerDep, resource_type: ResourceType
) -> Response:
    try:
        form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise FhirError.single(400, "structure", "the form is not UTF-8") from None
    items = list(request.query_params.multi_items()) + form
    return await run_in_threadpool(run_search, request, caller, resource_type, items)


@router.get("/{resource_type}/_history", responses=HISTORY)
def type_history(
    request: Request,
    caller: FhirCallerDep,
    resource_type: ResourceType,
    _since: str | None = None,
    _count: str = "100",
) -> Response:
    _checked_type(resource_type)
    caller.access.require(resource_type, "read")
    if not caller.access.unrestricted:
        raise FhirError.single(
            403, "forbidden", "the history of a whole type is for callers who see everyone"
        )
    try:
        since = date_range(_since)[0] if _since else None
    except ValueError as exc:
        raise FhirError.single(400, "invalid", f"_since: {exc}") from None
    if not _count.isdigit():
        raise FhirError.single(400, "invalid", f"_count must be a whole number, got {_count!r}")
    entries = caller.store.history(resource_type, since=since, limit=min(int(_count), 1000))
    caller.audit_found(
        "history-type", [e.resource for e in entries if e.resource], f"{resource_type}/_history"
    )
    return fhir_response(_history_bundle(_base(request), entries))


@router.post(
    "/{resource_type}",
    status_code=201,
    responses={
        201: response_doc(STORED_RESOURCE, "Created", LOCATION_HEADERS),
        200: response_doc(STORED_RESOURCE, "The one match of If-None-Exist", LOCATION_HEADERS),
    },
    openapi_extra=body_doc(
        NEW_RESOURCE, "The resource (its id is ignored)", IF_NONE_EXIST | IDEMPOTENCY_KEY
    ),
)
async def create(request: Request, caller: FhirCallerDep, resource_type: ResourceType) -> Response:
    _checked_type(resource_type)
    caller.access.require(resource_type, "write")
    res = _resource_body(await _body(request), resource_type)
    retry = await _retry_key(request, caller)
    return await run_in_threadpool(create_of, request, caller, resource_type, res, retry)


def create_of(
    request: Request,
    caller: Caller,
    resource_type: str,
    res: dict,
    retry: RetryKey | None = None,
) -> Response:
    if retry is not None and (replay := _replayed(caller, retry)) is not None:
        return replay
    condition = request.headers.get("if-none-exist")
    query = parse_condition(resource_type, condition) if condition else None
    body = {k: v for k, v in res.items() if k != "id"}
    found: list[dict] = []
    guard = caller.guard("create")
    with caller.refusals("create", [resource_type]):
        with caller.store.transaction(guard) as writer:
            # the locks of the condition and of a Patient's CCCD, in one order: the search and
            # the create are one step (http.html#ccreate), and so are the CCCD's check and use
            keys = unique_keys([body])
            lock(writer, keys if query is None else {*keys, condition_key(resource_type, query)})
            if query is not None:
                found = conditional_matches(writer, resource_type, query)
            if not found:
                if first_taken(writer.conn, [(None, body)]) is not None:
                    raise taken()
                created = writer.create(body)
                response = fhir_response(created, 201, _version_headers(created, _base(request)))
                if retry is not None:
                    remember(writer, retry, _stored(response, guard.references))
                return response
    if len(found) > 1:
        raise FhirError.single(412, "duplicate", f"If-None-Exist matches {len(found)}+")
    existing = caller.readable("read", found[0])
    return fhir_response(existing, 200, _version_headers(existing, _base(request)))


@router.get(
    "/{resource_type}/{resource_id}",
    responses={200: response_doc(STORED_RESOURCE, "The resource", VERSION_HEADERS)},
)
def read(caller: FhirCallerDep, resource_type: ResourceType, resource_id: ResourceId) -> Response:
    caller.access.require(_checked_type(resource_type), "read")
    res = caller.read("read", resource_type, resource_id)
    return fhir_response(res, headers=_version_headers(res))


@router.put(
    "/{resource_type}/{resource_id}",
    responses={
        200: response_doc(STORED_RESOURCE, "Updated", LOCATION_HEADERS),
        201: response_doc(STORED_RESOURCE, "Created with the id given", LOCATION_HEADERS),
    },
    openapi_extra=body_doc(NEW_RESOURCE, "The resource, with the id of the URL", IF_MATCH),
)
async def update(
    request: Request, caller: FhirCallerDep, resource_type: ResourceType, resource_id: ResourceId
) -> Response:
    _checked_type(resource_type)
    caller.access.require(resource_type, "write")
    res = _resource_body(await _body(request), resource_type)
    return await run_in_threadpool(update_of, request, caller, resource_id, res)


def update_of(request: Request, caller: Caller, resource_id: str, res: dict) -> Response:
    resource_type = res["resourceType"]
    if res.get("id") != resource_id:
        raise FhirError.single(
            400, "invalid", f"the body's id {res.get('id')!r} is not {resource_id!r}", "id"
        )
    version = _if_match(request)
    try:
        with caller.refusals("update", [f"{resource_type}/{resource_id}"]):
            with caller.store.transaction(caller.guard("update")) as writer:
                claim(writer, [(resource_id, res)])  # a Patient's CCCD (fhir.identifiers)
                stored = writer.update(res, if_match=version)
    except VersionConflict as exc:
        if version is None:
            raise
        # a failed If-Match is Precondition Failed (http.html)
        raise FhirError.single(412, "conflict", str(exc)) from None
    status = 201 if stored["meta"]["versionId"] == "1" else 200
    return fhir_response(stored, status, _version_headers(stored, _base(request)))


@router.delete("/{resource_type}/{resource_id}", status_code=204, response_class=Response)
def delete(caller: FhirCallerDep, resource_type: ResourceType, resource_id: ResourceId) -> Response:
    caller.access.require(_checked_type(resource_type), "write")
    with caller.refusals("delete", [f"{resource_type}/{resource_id}"]):
        caller.store.delete(resource_type, resource_id, guard=caller.guard("delete"))
    return Response(status_code=204)


@router.get("/{resource_type}/{resource_id}/_history", responses=HISTORY)
def instance_history(
    request: Request, caller: FhirCallerDep, resource_type: ResourceType, resource_id: ResourceId
) -> Response:
    caller.access.require(_checked_type(resource_type), "read")
    entries = caller.store.history(resource_type, resource_id)
    versions = [e.resource for e in entries if e.resource is not None]
    if not versions and not caller.access.unrestricted:
        raise not_found(resource_type, resource_id)
    if versions:
        caller.readable_all("history-instance", versions)
    return fhir_response(_history_bundle(_base(request), entries, caller.access.present))


@router.get(
    "/{resource_type}/{resource_id}/_history/{version}",
    responses={200: response_doc(STORED_RESOURCE, "That version", VERSION_HEADERS)},
)
def vread(
    caller: FhirCallerDep, resource_type: ResourceType, resource_id: ResourceId, version: str
) -> Response:
    caller.access.require(_checked_type(resource_type), "read")
    if not version.isdigit():
        raise FhirError.single(404, "not-found", f"no version {version!r}")
    try:
        content = caller.store.vread(resource_type, resource_id, int(version))
    except ResourceGone:
        caller.read("vread", resource_type, resource_id)  # 404 unless it could be seen
        raise
    res = caller.readable("vread", content)
    return fhir_response(res, headers=_version_headers(res))


def install(app: FastAPI) -> None:
    """Mount /fhir on the app (the store is the app's, `songkhoe.fhir.deps.app_store`), with
    errors answered as OperationOutcome."""
    app.include_router(public)
    app.include_router(router)

    def outcome(_request: Request, exc: Exception) -> Response:
        error = from_exception(exc)
        return fhir_response(operation_outcome(error.issues), error.status)

    for error_type in (FhirError, StoreError, InvalidSearch, UnknownSearchParameter):
        app.add_exception_handler(error_type, outcome)
