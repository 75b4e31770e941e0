"""The surveillance API, at /api/surveillance (JSON; errors are OperationOutcomes).

- `POST /api/surveillance/cases`: a case report (fields of `cases.FIELDS`) by a commune health
  worker or doctor about a person they may see; 201 with the Condition; audited.
- `GET /api/surveillance/alerts?state=open|confirmed|dismissed|all[&province=CODE]`: the alerts of
  the caller's place (officers); `GET /api/surveillance/alerts/{id}` with its status history
  and response Task.
- `POST /api/surveillance/alerts/{id}/confirm` `{"owner": ORG_ID?, "note": TEXT?}` and
  `POST /api/surveillance/alerts/{id}/dismiss` `{"reason": TEXT}`: the review (officers).
- `GET /api/surveillance/weekly?province=CODE&disease=KEY[&level=province]`: weekly counts, and
  `unplaced`: the case reports of the database that could not be counted (`aggregation`).
- `GET /api/surveillance/forecast?province=CODE&disease=KEY[&backtest=N]`.
Like the alerts, weekly counts and forecasts are for officers (other systems: with the Condition
read scope); no patient-scoped token sees any of this.

A caller signs in with a bearer token or the UI session cookie (`songkhoe.ncd.api.request_caller`,
the generic JSON-API caller). A POST must be `Content-Type: application/json` (415 otherwise), and
one that comes with the cookie rather than an Authorization header must be same-origin (its
`Origin`, or without one its `Referer`) or carry the session's CSRF token in `X-CSRF-Token`
(OWASP CSRF Prevention Cheat Sheet: verifying origin with standard headers; synchronizer token):
SameSite=Lax alone lets a same-site page post, and a cross-site `text/plain` form would be read as
JSON. The pages send `Referrer-Policy: no-referrer`, under which a browser's `fetch` sends
`Origin: null`, so scripts of the UI use the header token.
"""

import hmac
from dataclasses import asdict
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from songkhoe.auth.caller import Caller
from songkhoe.fhir.api import FHIR_ERRORS
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd.api import request_caller
from songkhoe.places.catalog import UnknownPlace
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.alerts import signal_of, state_of
from songkhoe.surveillance.diseases import UnknownDisease
from songkhoe.surveillance.forecast import ForecastError
from songkhoe.web.session import current_session

STATES = ("open", "confirmed", "dismissed", "all")
CSRF_HEADER = "x-csrf-token"


def _invalid(field: str, message: str) -> FhirError:
    return FhirError.single(400, "invalid", f"{field}: {message}", field)


def _same_origin(request: Request) -> bool:
    """Whether the browser says the request came from a page of this site."""
    ours = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == ours
    referer = request.headers.get("referer")
    return referer is not None and (referer == ours or referer.startswith(ours + "/"))


def _writer(store: ResourceStore, request: Request) -> Caller:
    """The caller of a POST (see the module doc): 401 without one, 415 for a body that is not
    declared JSON, 403 for a cookie-authenticated request from another site."""
    caller = request_caller(store, request)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise FhirError.single(
            415, "not-supported", f"Content-Type: expected application/json, got "
            f"{media_type or 'none'}", "Content-Type",
        )  # fmt: skip
    if "authorization" not in request.headers and not _same_origin(request):
        session = current_session(store, request)
        token = request.headers.get(CSRF_HEADER, "").encode()
        if session is None or not hmac.compare_digest(session.csrf_token.encode(), token):
            raise FhirError.single(
                403, "forbidden", "a request with the session cookie must come from this site "
                "(Origin) or send the session's X-CSRF-Token",
            )  # fmt: skip
    return caller


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise _invalid("body", "not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("body", "expected a JSON object")
    return body


def alert_summary(alert: dict) -> dict[str, Any]:
    """An alert as the API and the pages list it."""
    s = signal_of(alert)
    return {
        "id": alert["id"],
        "state": state_of(alert),
        "disease": s.disease,
        "commune": s.commune,
        "week": agg.week_label(s.week),
        "count": s.count,
        "upperbound": s.upperbound,
        "recent": list(s.recent),
        "method": s.method,
        "control": s.control,
        "population": s.population,
        "detail": alert["detail"],
        "version": int(alert["meta"]["versionId"]),
    }


def _place_args(province: str | None, disease: str | None) -> tuple[str, str]:
    if province is None or disease is None:
        missing = "province" if province is None else "disease"
        raise FhirError.single(400, "required", f"{missing}: required", missing)
    return province, disease


def build_router(store: ResourceStore) -> APIRouter:
    router = APIRouter(prefix="/api/surveillance", tags=["Surveillance"], responses=FHIR_ERRORS)

    @router.post("/cases", status_code=201)
    async def post_case(request: Request) -> JSONResponse:
        caller = _writer(store, request)
        created = service.report_case(caller, await _json(request))
        return JSONResponse(created, status_code=201,
                            headers={"Location": f"/fhir/Condition/{created['id']}"})  # fmt: skip

    @router.get("/alerts")
    def get_alerts(
        request: Request, state: str = "open", province: str | None = None
    ) -> JSONResponse:
        caller = request_caller(store, request)
        if state not in STATES:
            raise _invalid("state", f"one of {', '.join(STATES)}, got {state!r}")
        try:
            found = service.list_alerts(
                store, caller.principal, state=None if state == "all" else state,
                province_code=province,
            )  # fmt: skip
        except UnknownPlace as exc:
            raise _invalid("province", str(exc)) from None
        return JSONResponse({"total": len(found), "alerts": [alert_summary(a) for a in found]})

    @router.get("/alerts/{alert_id}")
    def get_alert(request: Request, alert_id: str) -> JSONResponse:
        caller = request_caller(store, request)
        history = service.alert_history(store, caller.principal, alert_id)
        task = service.alert_task(store, history[-1])
        return JSONResponse(
            {
                **alert_summary(history[-1]),
                "resource": history[-1],
                "history": [{"version": int(v["meta"]["versionId"]), "state": state_of(v),
                             "at": v["meta"]["lastUpdated"]} for v in history],
                "task": task,
            }
        )  # fmt: skip

    @router.post("/alerts/{alert_id}/{action}")
    async def review(request: Request, alert_id: str, action: str) -> JSONResponse:
        caller = _writer(store, request)
        if action not in ("confirm", "dismiss"):
            raise FhirError.single(404, "not-found", f"no action {action!r} (confirm, dismiss)")
        body = await _json(request)
        done = service.review_alert(
            caller, alert_id, action=action,
            note=body.get("reason") if action == "dismiss" else body.get("note"),
            owner=body.get("owner"),
        )  # fmt: skip
        return JSONResponse({**alert_summary(done.alert), "task": done.task})

    @router.get("/weekly")
    def weekly(
        request: Request,
        province: str | None = None,
        disease: str | None = None,
        level: str = "commune",
    ) -> JSONResponse:
        caller = request_caller(store, request)
        province, disease = _place_args(province, disease)
        if level not in agg.LEVELS:
            raise _invalid("level", f"one of {', '.join(agg.LEVELS)}, got {level!r}")
        service.require_officer(caller.principal, resource_type="Condition")
        try:
            service.require_province(caller.principal, province)
            cases = agg.read_cases(store.engine)
            series = agg.weekly_series(
                store.engine, province_code=province, disease=disease, level=level, cases=cases
            )
        except UnknownPlace as exc:
            raise _invalid("province", str(exc)) from None
        except UnknownDisease as exc:
            raise _invalid("disease", str(exc)) from None
        except agg.AggregationError as exc:
            raise FhirError.single(404, "not-found", str(exc)) from None
        return JSONResponse(
            {
                "province": province,
                "disease": disease,
                "weeks": series.dates.astype(str).tolist(),
                "units": list(series.units or ()),
                "counts": series.counts.astype(int).tolist(),
                "population": series.population[:, 0].astype(int).tolist(),
                "unplaced": cases.unplaced,
            }
        )

    @router.get("/forecast")
    def get_forecast(
        request: Request,
        province: str | None = None,
        disease: str | None = None,
        backtest: int | None = None,
    ) -> JSONResponse:
        caller = request_caller(store, request)
        province, disease = _place_args(province, disease)
        if backtest is not None and not 1 <= backtest <= 104:
            raise _invalid("backtest", f"between 1 and 104 weeks, got {backtest}")
        service.require_officer(caller.principal, resource_type="Condition")
        try:
            service.require_province(caller.principal, province)
            result = service.province_forecast(
                store, province_code=province, disease=disease, backtest_weeks=backtest
            )
        except UnknownPlace as exc:
            raise _invalid("province", str(exc)) from None
        except UnknownDisease as exc:
            raise _invalid("disease", str(exc)) from None
        except (agg.AggregationError, ForecastError) as exc:
            raise FhirError.single(404, "not-found", str(exc)) from None
        f = result.forecast
        return JSONResponse(
            {
                "province": province,
                "disease": disease,
                "model": f.model,
                "weeks": [agg.week_label(w) for w in result.future],
                "mean": f.mean.tolist(),
                "interval80": [f.lower80.tolist(), f.upper80.tolist()],
                "interval95": [f.lower95.tolist(), f.upper95.tolist()],
                "backtest": asdict(result.backtest) if result.backtest else None,
            }
        )

    return router
