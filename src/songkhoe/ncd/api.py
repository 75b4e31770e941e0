"""The NCD API for the web UI and other systems, at /api/ncd.

- `GET /api/ncd/indicators?province=CODE|commune=CODE&month=YYYY-MM[&by=commune]`: aggregates, for
  any authenticated caller whose place covers the place asked for (managers included).
- `GET /api/ncd/worklists/{kind}?commune=CODE[&as_of=DATETIME]` (default now; a bare date means
  its last second, UTC): personal data, for the commune's health workers and the doctors of its
  province (`songkhoe.auth.policy`), every read audited.
A caller signs in with the UI session cookie or a bearer token; errors are OperationOutcomes.
"""

from datetime import UTC, datetime

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from songkhoe.auth.api import bearer_principal
from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Principal
from songkhoe.auth.policy import covers
from songkhoe.fhir.api import FHIR_ERRORS
from songkhoe.fhir.indexing import date_range
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd.indicators import InvalidMonth, indicators
from songkhoe.ncd.worklists import UnknownWorklist, name_entries, worklist
from songkhoe.places.catalog import UnknownPlace, commune, communes
from songkhoe.web.session import current_session


def request_caller(store: ResourceStore, request: Request) -> Caller:
    """The caller of a request: a bearer token when one is sent, else the UI session; 401 if
    neither."""
    principal: Principal | None
    if "authorization" in request.headers:
        principal = bearer_principal(store, request)
    else:
        session = current_session(store, request)
        if session is None:
            raise FhirError.single(401, "login", "log in, or send Authorization: Bearer TOKEN")
        principal = session.principal
    address = request.client.host if request.client else None
    return Caller(store, principal, RequestContext(address))


def _forbidden(message: str) -> FhirError:
    return FhirError.single(403, "forbidden", message)


def _invalid(exc: Exception, field: str) -> FhirError:
    return FhirError.single(400, "invalid", f"{field}: {exc}", field)


def build_router(store: ResourceStore) -> APIRouter:
    router = APIRouter(prefix="/api/ncd", tags=["NCD"], responses=FHIR_ERRORS)

    @router.get("/indicators")
    def get_indicators(
        request: Request,
        month: str,
        province: str | None = None,
        commune: str | None = None,
        by: str | None = None,
    ) -> JSONResponse:
        caller = request_caller(store, request)
        if (province is None) == (commune is None):
            raise FhirError.single(400, "required", "give either province or commune", "province")
        if by not in (None, "commune"):
            raise FhirError.single(400, "invalid", f"by must be commune, got {by!r}", "by")
        kind, code = ("province", province) if province is not None else ("commune", commune)
        try:
            covered = [c.code for c in communes(code)] if kind == "province" else [_commune(code)]
        except UnknownPlace as exc:
            raise _invalid(exc, kind) from None
        if caller.principal.patient_id is not None or not covers(caller.principal.place, covered):
            raise _forbidden(f"the indicators of {kind} {code} are outside your place")
        try:
            rows, as_of = indicators(
                store.engine, place=(kind, code), month=month, by_commune=by == "commune"
            )
        except InvalidMonth as exc:
            raise _invalid(exc, "month") from None
        return JSONResponse({"month": month, "projections_as_of": as_of, "rows": rows})

    @router.get("/worklists/{kind}")
    def get_worklist(
        request: Request, kind: str, commune: str, as_of: str | None = None
    ) -> JSONResponse:
        caller = request_caller(store, request)
        access = caller.access
        access.require("Patient", "read")
        query = f"ncd/worklists/{kind}?commune={commune}"
        try:
            code = _commune(commune)
        except UnknownPlace as exc:
            raise _invalid(exc, "commune") from None
        if not access.unrestricted and not (
            access.place_based and covers(caller.principal.place, [code])
        ):
            caller.audit("search-type", [], outcome="refused", query=query)
            raise _forbidden(f"the worklists of commune {code} are for its station's staff")
        try:
            now = np.datetime64(date_range(as_of)[1][:19]) if as_of else _now()  # a date: its end
            entries, projected = worklist(
                store.engine, kind=kind, commune_code=code, now=now, named=False
            )
        except UnknownWorklist as exc:
            raise FhirError.single(404, "not-found", str(exc)) from None
        except ValueError as exc:
            raise _invalid(exc, "as_of") from None
        with store.engine.connect() as conn:  # moved away or deleted since the last refresh
            seen = access.live_visible_patients(conn, [e["patient_id"] for e in entries])
            entries = [e for e in entries if e["patient_id"] in seen]
            name_entries(conn, entries)
        people = [{"resourceType": "Patient", "id": e["patient_id"]} for e in entries]
        caller.audit_found("search-type", people, query)
        return JSONResponse(
            {"kind": kind, "commune": code, "as_of": f"{now}Z", "projections_as_of": projected,
             "total": len(entries), "entries": entries}
        )  # fmt: skip

    return router


def _commune(code: str) -> str:
    return commune(code).code


def _now() -> np.datetime64:
    return np.datetime64(datetime.now(UTC).replace(tzinfo=None), "s")
