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
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from songkhoe.auth.api import bearer_principal
from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.guard import not_found
from songkhoe.config import get_settings
from songkhoe.db.engine import reading
from songkhoe.fhir import bulk
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.bundles import conditional_matches, parse_condition, process_bundle
from songkhoe.fhir.capability import capability_statement, supported_types
from songkhoe.fhir.deps import StoreDep
from songkhoe.fhir.indexing import date_range
from songkhoe.fhir.outcomes import FhirError, from_exception, operation_outcome
from songkhoe.fhir.search import InvalidSearch, SearchRequest, parse_query
from songkhoe.fhir.searchparams import UnknownSearchParameter
from songkhoe.fhir.store import HistoryEntry, ResourceGone, StoreError
from songkhoe.fhir.validation import validate

FHIR_JSON = "application/fhir+json"
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
ACCEPTED_BODY_TYPES = (FHIR_JSON, "application/json")


def fhir_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type=f"{FHIR_JSON}; charset=utf-8")


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


async def exporter(caller: FhirCallerDep) -> Caller:
    """The caller of the Bulk Data routes: export of identifiable data needs an administrator,
    or a system client with read access to everything (registered by an administrator)."""
    p = caller.principal
    if not (p.is_admin or (p.kind == "client" and caller.access.unrestricted)):
        raise FhirError.single(403, "forbidden", "bulk export needs an administrator")
    return caller


ExporterDep = Annotated[Caller, Depends(exporter)]


OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                },
            },
        },
    },
}
FHIR_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": "OperationOutcome",
        "content": {FHIR_JSON: {"schema": OUTCOME_SCHEMA}},
    }
    for status in (400, 401, 403, 404, 409, 410, 412, 413, 415, 429, 500)
}


# Public on purpose: the capability statement is how a client discovers the server before it
# has a token (http.html#capabilities). Included before `router`, whose GET /{resource_type}
# would take "metadata" for a type.
public = APIRouter(prefix="/fhir", tags=["FHIR R4"], responses=FHIR_ERRORS)


@public.get("/metadata")
def metadata(request: Request) -> Response:
    return fhir_response(capability_statement(_base(request)))


# Every other route needs a bearer token, also one that does not ask for the caller.
router = APIRouter(
    prefix="/fhir", tags=["FHIR R4"], responses=FHIR_ERRORS, dependencies=[Depends(fhir_caller)]
)


@router.post("")
@router.post("/", include_in_schema=False)
async def transaction(request: Request, caller: FhirCallerDep) -> Response:
    bundle = await _body(request)
    return await run_in_threadpool(transaction_of, request, caller, bundle)


def transaction_of(request: Request, caller: Caller, bundle: Any) -> Response:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError.single(400, "invalid", "POST /fhir takes a Bundle", "resourceType")
    with caller.refusals(bundle.get("type", "transaction"), []):
        response = process_bundle(caller.store, bundle, base_url=_base(request), guard=caller.guard)
    return fhir_response(response)


@router.get("/$export")
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


@router.get("/$export-status/{job_id}", dependencies=[Depends(exporter)])
def export_status(request: Request, job_id: str) -> Response:
    status = bulk.export_status(
        get_settings().export_dir, job_id, files_base_url=f"{_base(request)}/$export-files"
    )
    if status.state == "in-progress":
        return Response(status_code=202, headers={"X-Progress": status.progress or ""})
    if status.state == "error":
        raise FhirError.single(500, "exception", status.error or "the export failed")
    return Response(orjson.dumps(status.manifest), 200, media_type="application/json")


@router.delete("/$export-status/{job_id}", dependencies=[Depends(exporter)])
def export_delete(job_id: str) -> Response:
    bulk.delete_export(get_settings().export_dir, job_id)
    return Response(status_code=202)


@router.get("/$export-files/{job_id}/{name}")
def export_file(caller: ExporterDep, job_id: str, name: str) -> Response:
    path = bulk.export_file_path(get_settings().export_dir, job_id, name)
    caller.audit("operation", [], query=f"$export-files/{job_id}/{name}")
    return FileResponse(path, media_type="application/fhir+ndjson")


@router.get("/Patient/{patient_id}/$everything")
def everything(request: Request, caller: FhirCallerDep, patient_id: str) -> Response:
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


def run_search(
    request: Request, caller: Caller, resource_type: str, items: list[tuple[str, str]]
) -> Response:
    _checked_type(resource_type)
    caller.access.require(resource_type, "read")
    query: SearchRequest = parse_query(resource_type, items)
    query.restrict = caller.access.restriction
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
        extra = [
            r
            for r in fhir_search.included(conn, resource_type, [i for i, _ in matches], query)
            if caller.principal.allows(r["resourceType"], "read")
        ]
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
    return fhir_response(bundle)


@router.get("/{resource_type}")
def search_type(request: Request, caller: FhirCallerDep, resource_type: str) -> Response:
    return run_search(request, caller, resource_type, list(request.query_params.multi_items()))


@router.post("/{resource_type}/_search")
async def search_post(request: Request, caller: FhirCallerDep, resource_type: str) -> Response:
    try:
        form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise FhirError.single(400, "structure", "the form is not UTF-8") from None
    items = list(request.query_params.multi_items()) + form
    return await run_in_threadpool(run_search, request, caller, resource_type, items)


@router.get("/{resource_type}/_history")
def type_history(
    request: Request,
    caller: FhirCallerDep,
    resource_type: str,
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


@router.post("/{resource_type}")
async def create(request: Request, caller: FhirCallerDep, resource_type: str) -> Response:
    _checked_type(resource_type)
    caller.access.require(resource_type, "write")
    res = _resource_body(await _body(request), resource_type)
    return await run_in_threadpool(create_of, request, caller, resource_type, res)


def create_of(request: Request, caller: Caller, resource_type: str, res: dict) -> Response:
    condition = request.headers.get("if-none-exist")
    base = _base(request)
    body = {k: v for k, v in res.items() if k != "id"}
    found: list[dict] = []
    with caller.refusals("create", [resource_type]):
        with caller.store.transaction(caller.guard("create")) as writer:
            if condition:  # searched and created in one transaction, under the query's lock
                query = parse_condition(resource_type, condition)
                found = conditional_matches(writer, resource_type, query)
            created = None if found else writer.create(body)
    if len(found) > 1:
        raise FhirError.single(412, "duplicate", f"If-None-Exist matches {len(found)}+")
    if created is None:
        existing = caller.readable("read", found[0])
        return fhir_response(existing, 200, _version_headers(existing, base))
    return fhir_response(created, 201, _version_headers(created, base))


@router.get("/{resource_type}/{resource_id}")
def read(caller: FhirCallerDep, resource_type: str, resource_id: str) -> Response:
    caller.access.require(_checked_type(resource_type), "read")
    res = caller.read("read", resource_type, resource_id)
    return fhir_response(res, headers=_version_headers(res))


@router.put("/{resource_type}/{resource_id}")
async def update(
    request: Request, caller: FhirCallerDep, resource_type: str, resource_id: str
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
            stored = caller.store.update(res, if_match=version, guard=caller.guard("update"))
    except Exception as exc:
        error = from_exception(exc)
        if version is not None and error.status == 409:
            error.status = 412  # a failed If-Match is Precondition Failed (http.html)
        raise error from None
    status = 201 if stored["meta"]["versionId"] == "1" else 200
    return fhir_response(stored, status, _version_headers(stored, _base(request)))


@router.delete("/{resource_type}/{resource_id}")
def delete(caller: FhirCallerDep, resource_type: str, resource_id: str) -> Response:
    caller.access.require(_checked_type(resource_type), "write")
    with caller.refusals("delete", [f"{resource_type}/{resource_id}"]):
        caller.store.delete(resource_type, resource_id, guard=caller.guard("delete"))
    return Response(status_code=204)


@router.get("/{resource_type}/{resource_id}/_history")
def instance_history(
    request: Request, caller: FhirCallerDep, resource_type: str, resource_id: str
) -> Response:
    caller.access.require(_checked_type(resource_type), "read")
    entries = caller.store.history(resource_type, resource_id)
    versions = [e.resource for e in entries if e.resource is not None]
    if not versions and not caller.access.unrestricted:
        raise not_found(resource_type, resource_id)
    if versions:
        caller.readable_all("history-instance", versions)
    return fhir_response(_history_bundle(_base(request), entries, caller.access.present))


@router.get("/{resource_type}/{resource_id}/_history/{version}")
def vread(caller: FhirCallerDep, resource_type: str, resource_id: str, version: str) -> Response:
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
