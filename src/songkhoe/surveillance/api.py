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

A caller signs in with a bearer token or the UI session cookie; a POST must be JSON and, with the
cookie, same-origin or carry the session's CSRF token (`songkhoe.web.callers`).
"""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from songkhoe.fhir.openapi import (
    API_ERRORS,
    JSON,
    STORED_RESOURCE,
    body_doc,
    header,
    json_answer,
    response_doc,
)
from songkhoe.fhir.outcomes import FhirError
from songkhoe.places.catalog import UnknownPlace
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.alerts import signal_of, state_of
from songkhoe.surveillance.diseases import DISEASES, UnknownDisease
from songkhoe.surveillance.forecast import ForecastError
from songkhoe.web.callers import CallerDep, WriterDep, json_object
from songkhoe.web.pages import StoreDep

STATES = ("open", "confirmed", "dismissed", "all")


def _invalid(field: str, message: str) -> FhirError:
    return FhirError.single(400, "invalid", f"{field}: {message}", field)


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


OBJECT: dict[str, Any] = {"type": "object"}
STRING: dict[str, Any] = {"type": "string"}
NUMBERS: dict[str, Any] = {"type": "array", "items": {"type": "number"}}
ALERT_FIELDS: dict[str, Any] = {
    "id": STRING,
    "state": {"enum": list(STATES[:-1])},
    "disease": STRING,
    "commune": STRING,
    "week": STRING,
    "count": {"type": "integer"},
    "upperbound": {"type": "number"},
    "recent": {"type": "array", "items": {"type": "integer"}},
    "method": STRING,
    "control": OBJECT,
    "population": {"type": "integer"},
    "detail": STRING,
    "version": {"type": "integer"},
}
TASK: dict[str, Any] = {"anyOf": [OBJECT, {"type": "null"}]}  # the response Task, if any


def _alert(**more: dict[str, Any]) -> dict[str, Any]:
    """The schema of `alert_summary` and `more` fields."""
    fields = {**ALERT_FIELDS, **more}
    return {"type": "object", "required": list(fields), "properties": fields}


CASE_REPORT = {
    "type": "object",
    "required": ["patient", "disease", "onset"],
    "properties": {
        "patient": {"type": "string", "description": "The Patient's id"},
        "disease": {"type": "string", "description": f"One of {', '.join(DISEASES)}, or ICD-10"},
        "icd10": STRING,
        "onset": {"type": "string", "format": "date"},
        "commune": {"type": "string", "description": "Default: the person's commune"},
        "classification": STRING,
        "note": STRING,
    },
}
REVIEW = {
    "type": "object",
    "properties": {
        "owner": {"type": "string", "description": "confirm: the Organization that responds"},
        "note": {"type": "string", "description": "confirm: a note"},
        "reason": {"type": "string", "description": "dismiss: why (at least 3 characters)"},
    },
}
Province = Annotated[str | None, Query(description="A province code (2025)", examples=["12"])]
Disease = Annotated[
    str | None, Query(description="A disease", json_schema_extra={"enum": list(DISEASES)})
]

router = APIRouter(prefix="/api/surveillance", tags=["Surveillance"], responses=API_ERRORS)


@router.post(
    "/cases",
    status_code=201,
    responses={
        201: response_doc(
            STORED_RESOURCE, "The Condition", {"Location": header("Its URL")}, media_type=JSON
        )
    },
    openapi_extra=body_doc(CASE_REPORT, "A case report", media_type=JSON),
)
async def post_case(request: Request, caller: WriterDep) -> JSONResponse:
    created = service.report_case(caller, await json_object(request))
    return JSONResponse(created, status_code=201,
                        headers={"Location": f"/fhir/Condition/{created['id']}"})  # fmt: skip


@router.get(
    "/alerts",
    responses=json_answer(
        {
            "type": "object",
            "required": ["total", "alerts"],
            "properties": {
                "total": {"type": "integer"},
                "alerts": {"type": "array", "items": _alert()},
            },
        },
        "The alerts",
    ),
)
def get_alerts(
    store: StoreDep,
    caller: CallerDep,
    state: Annotated[str, Query(json_schema_extra={"enum": list(STATES)})] = "open",
    province: Province = None,
) -> JSONResponse:
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


@router.get(
    "/alerts/{alert_id}",
    responses=json_answer(
        _alert(
            resource=OBJECT,
            history={
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["version", "state", "at"],
                    "properties": {"version": {"type": "integer"}, "state": STRING, "at": STRING},
                },
            },
            task=TASK,
        ),
        "The alert (its DetectedIssue), its status history and response Task",
    ),
)
def get_alert(store: StoreDep, caller: CallerDep, alert_id: str) -> JSONResponse:
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


@router.post(
    "/alerts/{alert_id}/{action}",
    responses=json_answer(_alert(task=TASK), "The alert as reviewed"),
    openapi_extra=body_doc(REVIEW, "The review", media_type=JSON),
)
async def review(
    request: Request,
    caller: WriterDep,
    alert_id: str,
    action: Annotated[str, Path(json_schema_extra={"enum": ["confirm", "dismiss"]})],
) -> JSONResponse:
    if action not in ("confirm", "dismiss"):
        raise FhirError.single(404, "not-found", f"no action {action!r} (confirm, dismiss)")
    body = await json_object(request)
    for field in REVIEW["properties"]:
        if not isinstance(body.get(field), str | None):
            raise _invalid(field, f"expected text, got {type(body[field]).__name__}")
    done = service.review_alert(
        caller, alert_id, action=action,
        note=body.get("reason") if action == "dismiss" else body.get("note"),
        owner=body.get("owner"),
    )  # fmt: skip
    return JSONResponse({**alert_summary(done.alert), "task": done.task})


@router.get(
    "/weekly",
    responses=json_answer(
        {
            "type": "object",
            "required": ["province", "disease", "weeks", "units", "counts", "population"],
            "properties": {
                "province": STRING,
                "disease": STRING,
                "weeks": {"type": "array", "items": STRING},
                "units": {"type": "array", "items": STRING},
                "counts": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "integer"}},
                },
                "population": {"type": "array", "items": {"type": "integer"}},
                "unplaced": {"type": "integer"},
            },
        },
        "Counts by week (rows) and unit (columns)",
    ),
)
def weekly(
    store: StoreDep,
    caller: CallerDep,
    province: Province = None,
    disease: Disease = None,
    level: Annotated[str, Query(json_schema_extra={"enum": list(agg.LEVELS)})] = "commune",
) -> JSONResponse:
    province, disease = _place_args(province, disease)
    if level not in agg.LEVELS:
        raise _invalid("level", f"one of {', '.join(agg.LEVELS)}, got {level!r}")
    service.require_officer(caller.principal, resource_type="Condition")
    try:
        service.require_province(caller.principal, province)
        series, unplaced = service.province_weekly(
            store, province_code=province, disease=disease, level=level
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
            "unplaced": unplaced,
        }
    )


@router.get(
    "/forecast",
    responses=json_answer(
        {
            "type": "object",
            "required": ["province", "disease", "model", "weeks", "mean"],
            "properties": {
                "province": STRING,
                "disease": STRING,
                "model": STRING,
                "weeks": {"type": "array", "items": STRING},
                "mean": NUMBERS,
                "interval80": {"type": "array", "items": NUMBERS},
                "interval95": {"type": "array", "items": NUMBERS},
                "backtest": {"anyOf": [OBJECT, {"type": "null"}]},
            },
        },
        "The forecast",
    ),
)
def get_forecast(
    store: StoreDep,
    caller: CallerDep,
    province: Province = None,
    disease: Disease = None,
    backtest: Annotated[int | None, Query(json_schema_extra={"minimum": 1, "maximum": 104})] = None,
) -> JSONResponse:
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
