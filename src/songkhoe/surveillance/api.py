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
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from songkhoe.fhir.api import FHIR_ERRORS
from songkhoe.fhir.outcomes import FhirError
from songkhoe.places.catalog import UnknownPlace
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.alerts import signal_of, state_of
from songkhoe.surveillance.diseases import UnknownDisease
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


router = APIRouter(prefix="/api/surveillance", tags=["Surveillance"], responses=FHIR_ERRORS)


@router.post("/cases", status_code=201)
async def post_case(request: Request, caller: WriterDep) -> JSONResponse:
    created = service.report_case(caller, await json_object(request))
    return JSONResponse(created, status_code=201,
                        headers={"Location": f"/fhir/Condition/{created['id']}"})  # fmt: skip


@router.get("/alerts")
def get_alerts(
    store: StoreDep, caller: CallerDep, state: str = "open", province: str | None = None
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


@router.get("/alerts/{alert_id}")
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


@router.post("/alerts/{alert_id}/{action}")
async def review(request: Request, caller: WriterDep, alert_id: str, action: str) -> JSONResponse:
    if action not in ("confirm", "dismiss"):
        raise FhirError.single(404, "not-found", f"no action {action!r} (confirm, dismiss)")
    body = await json_object(request)
    done = service.review_alert(
        caller, alert_id, action=action,
        note=body.get("reason") if action == "dismiss" else body.get("note"),
        owner=body.get("owner"),
    )  # fmt: skip
    return JSONResponse({**alert_summary(done.alert), "task": done.task})


@router.get("/weekly")
def weekly(
    store: StoreDep,
    caller: CallerDep,
    province: str | None = None,
    disease: str | None = None,
    level: str = "commune",
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


@router.get("/forecast")
def get_forecast(
    store: StoreDep,
    caller: CallerDep,
    province: str | None = None,
    disease: str | None = None,
    backtest: int | None = None,
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
