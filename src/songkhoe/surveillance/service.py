"""Surveillance services over the store: case reports (audited, through the access policy), the
weekly detection job, alerts and their review, and province forecasts.

Who may do what (on top of `songkhoe.auth.policy`):
- a case is reported by a commune health worker or a doctor (or an administrator, or another
  system with Condition write scope) about a person they may see; the write and its AuditEvent
  commit together (`Caller.guard`);
- alerts and weekly counts are aggregates (no person in them): officers (doctors, district and
  provincial managers, administrators) see and review those of the communes of their place;
  other systems need the DetectedIssue scope. A review writes a new version of the alert, the
  response Task when confirmed, and one AuditEvent, in one transaction.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from songkhoe.auth.audit import audit_event
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import Principal, Role
from songkhoe.auth.policy import covers, stations
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.queries import ids_in_use, live, tagged
from songkhoe.fhir.store import ID_PATTERN, ResourceNotFound, ResourceStore, utc_now
from songkhoe.places.catalog import commune, communes
from songkhoe.places.facilities import (
    commune_station_id,
    facilities,
    facility,
    station_communes,
)
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance.alerts import (
    RECENT_WEEKS,
    SIGNAL_SYSTEM,
    ReviewError,
    Signal,
    alert_resource,
    author,
    is_alert,
    response_task,
    response_task_id,
    reviewed,
    signal_of,
    state_of,
)
from songkhoe.surveillance.cases import CaseError, case_condition, home_commune, parse_case
from songkhoe.surveillance.detect import METHODS, DetectError, detect
from songkhoe.surveillance.diseases import DISEASES
from songkhoe.surveillance.forecast import HORIZON, Backtest, Forecast, backtest, forecast
from songkhoe.surveillance.series import WeeklySeries

REPORTERS = frozenset({Role.COMMUNE_HEALTH_WORKER, Role.DOCTOR, Role.ADMIN})
OFFICERS = frozenset({Role.DOCTOR, Role.DISTRICT_MANAGER, Role.PROVINCIAL_MANAGER, Role.ADMIN})
DEFAULT_METHOD = "noufaily"


def _forbidden(message: str) -> FhirError:
    return FhirError.single(403, "forbidden", message)


# --- case reports ------------------------------------------------------------------------------


def report_case(caller: Caller, payload: Any) -> dict:
    """Validate and store a case report; FhirError 400 naming the field, 403 for a caller who
    may not report, 404 for a person outside the caller's place (same answer as for an unknown
    person). Nothing is written on error but the AuditEvent of a refusal; the Condition and its
    AuditEvent are written together."""
    p = caller.principal
    named = payload.get("patient") if isinstance(payload, dict) else None
    valid = isinstance(named, str) and ID_PATTERN.fullmatch(named)
    with caller.refusals("create", [f"Patient/{named}" if valid else "Condition"]):
        if p.kind == "user" and p.role not in REPORTERS:
            raise _forbidden("case reports are made by commune health workers and doctors")
        caller.access.require("Condition", "write")
    try:
        case = parse_case(payload, today=agg.today())
    except CaseError as exc:
        raise FhirError.single(400, "invalid", str(exc), exc.field) from None
    try:
        patient = caller.store.read("Patient", case.patient_id)
        with caller.store.engine.connect() as conn:
            visible = caller.access.can_see(conn, patient)
    except ResourceNotFound:
        visible = False
    if not visible:
        caller.audit("create", [f"Patient/{case.patient_id}"], outcome="refused")
        raise FhirError.single(
            404, "not-found", f"patient: Patient/{case.patient_id} does not exist", "patient"
        )
    where = case.commune_code or home_commune(patient)
    if where is None:
        raise FhirError.single(
            400, "required", "commune: the person has no home commune; give the commune",
            "commune",
        )  # fmt: skip
    condition = case_condition(case, commune_code=where, recorded=utc_now())
    with caller.refusals("create", [f"Patient/{case.patient_id}"]):
        with caller.store.transaction(caller.guard("create")) as writer:
            return writer.create(condition)


# --- who sees alerts ---------------------------------------------------------------------------


def require_officer(
    principal: Principal, access: str = "read", *, resource_type: str = "DetectedIssue"
) -> None:
    """Officers only (other systems: with the scope for `access` of `resource_type`: alerts are
    DetectedIssues, weekly counts and forecasts come from Conditions); never a patient-scoped
    token. FhirError 403 otherwise."""
    if principal.patient_id is not None:
        raise _forbidden("surveillance data is not part of a person's record")
    if principal.kind == "client":
        if not principal.allows(resource_type, access):
            raise _forbidden(f"the token's scopes do not allow {access} of {resource_type}")
    elif principal.role not in OFFICERS:
        raise _forbidden("surveillance is for doctors and district and provincial officers")


def place_communes(principal: Principal) -> set[str] | None:
    """The commune codes of the principal's place; None for the whole country."""
    mine = station_communes(stations(principal.place))
    return None if mine is None else set(mine)


def require_province(principal: Principal, province_code: str) -> list[str]:
    """The province's commune codes, if the principal's place covers them (403 if not)."""
    codes = [c.code for c in communes(province_code)]
    if not covers(principal.place, codes):
        raise _forbidden(f"province {province_code} is outside your place")
    return codes


# --- the weekly job ----------------------------------------------------------------------------


@dataclass(slots=True)
class WeeklyReport:
    week: date
    method: str
    series: int = 0  # commune x disease series evaluated
    alarms: int = 0
    created: int = 0
    skipped: list[str] = field(default_factory=list)  # province/disease and why
    unplaced: int = 0  # case reports counted nowhere (`aggregation.Cases.unplaced`)

    def summary(self) -> str:
        text = (
            f"{agg.week_label(self.week)}, {self.method}: {self.series:,} commune x disease "
            f"series, {self.alarms} alarms, {self.created} new alerts"
        )
        text += f", {len(self.skipped)} skipped" if self.skipped else ""
        return text + (f"; {agg.unplaced_note(self.unplaced)}" if self.unplaced else "")


def _signals(
    store: ResourceStore, cases: agg.Cases, week: date, method: str, control: dict, report
) -> list[Signal]:
    start = agg.reporting_start(cases)
    provinces = sorted({commune(c).province_code for c in set(cases.commune.tolist())})
    needed = METHODS[method].default_first(control)
    signals = []
    for province_code in provinces:
        in_province = np.isin(cases.commune, [c.code for c in communes(province_code)])
        for key in DISEASES:
            if not (in_province & (cases.disease == key) & (cases.week <= week)).any():
                continue
            series = agg.weekly_series(
                store.engine, province_code=province_code, disease=key, start=start, end=week,
                cases=cases,
            )  # fmt: skip
            last = series.dates.size - 1
            if needed is not None and last < needed:
                report.skipped.append(
                    f"{province_code}/{key}: {method} needs {needed} weeks of history before "
                    f"the evaluated week, reporting began {agg.week_label(start)} ({last} weeks)"
                )
                continue
            try:
                result = detect(series, method, first=last, **control)
            except DetectError as exc:
                report.skipped.append(f"{province_code}/{key}: {exc}")
                continue
            alarm = np.atleast_2d(result.alarm)[:, -1]
            upper = np.atleast_2d(result.upperbound)[:, -1]
            report.series += alarm.size
            for i in np.flatnonzero(alarm == 1).tolist():
                signals.append(
                    Signal(
                        disease=key,
                        commune=series.units[i],
                        week=week,
                        method=method,
                        control=control,
                        count=int(series.counts[i, -1]),
                        upperbound=float(upper[i]),
                        recent=tuple(int(x) for x in series.counts[i, -RECENT_WEEKS:]),
                        population=int(series.population[i, -1]),
                    )
                )
    return signals


def run_weekly(
    store: ResourceStore,
    *,
    week: date | None = None,
    method: str = DEFAULT_METHOD,
    control: dict[str, Any] | None = None,
) -> WeeklyReport:
    """Run `method` on every commune x disease series of the database for the ISO week of
    `week` (default: the last complete week) and write an open alert per alarm that has none
    yet (idempotent). Series start at the reporting start (`aggregation`)."""
    if method not in METHODS:
        raise DetectError(f"unknown method {method!r} (one of {', '.join(METHODS)})")
    control = dict(control or {})
    week = agg.week_start(week) if week else agg.last_complete_week()
    if week > agg.last_complete_week():
        raise agg.AggregationError(f"week {agg.week_label(week)} has not ended yet")
    cases = agg.read_cases(store.engine)
    start = agg.reporting_start(cases)
    if week < start:
        raise agg.AggregationError(f"week {agg.week_label(week)} is before the first case "
                                   f"report ({agg.week_label(start)})")  # fmt: skip
    report = WeeklyReport(week, method, unplaced=cases.unplaced)
    signals = _signals(store, cases, week, method, control, report)
    report.alarms = len(signals)
    alerts = [alert_resource(s) for s in signals]
    with store.transaction() as writer:
        taken = ids_in_use(["DetectedIssue"], [a["id"] for a in alerts])
        present = {res_id for _type, res_id in writer.conn.execute(taken)}
        new = [a for a in alerts if a["id"] not in present]
        writer.create_many(new)
    report.created = len(new)
    return report


# --- alerts ------------------------------------------------------------------------------------


def all_alerts(store: ResourceStore) -> list[dict]:
    signals = tagged("DetectedIssue", "identifier", SIGNAL_SYSTEM)
    with store.engine.connect() as conn:
        return list(conn.execute(live("DetectedIssue", signals)).scalars())


def list_alerts(
    store: ResourceStore,
    principal: Principal,
    *,
    state: str | None = "open",
    province_code: str | None = None,
) -> list[dict]:
    """The alerts of the communes of the principal's place (of one province, in one state),
    newest week first, then by count."""
    require_officer(principal)
    mine = place_communes(principal)
    wanted = None if province_code is None else set(require_province(principal, province_code))
    found = []
    for alert in all_alerts(store):
        s = signal_of(alert)
        if mine is not None and s.commune not in mine:
            continue
        if (wanted is not None and s.commune not in wanted) or (state and state_of(alert) != state):
            continue
        found.append(alert)
    return sorted(found, key=lambda a: (signal_of(a).week, signal_of(a).count), reverse=True)


def alarm_weeks(
    store: ResourceStore, principal: Principal, *, province_code: str, disease: str
) -> set[date]:
    """The weeks of the alerts (in any state) of one disease in a province: a chart marks them."""
    alerts = list_alerts(store, principal, state=None, province_code=province_code)
    return {signal_of(a).week for a in alerts if signal_of(a).disease == disease}


def get_alert(store: ResourceStore, principal: Principal, alert_key: str) -> dict:
    """One alert of the principal's place; 404 for an unknown one or one outside it."""
    require_officer(principal)
    try:
        alert = store.read("DetectedIssue", alert_key)
    except (ResourceNotFound, ValueError):
        alert = None
    if (
        alert is None
        or not is_alert(alert)
        or not covers(principal.place, [signal_of(alert).commune])
    ):
        raise FhirError.single(404, "not-found", f"alert {alert_key} does not exist")
    return alert


def alert_history(store: ResourceStore, principal: Principal, alert_key: str) -> list[dict]:
    """The versions of an alert, oldest first: its status history."""
    get_alert(store, principal, alert_key)
    versions = store.history("DetectedIssue", alert_key)
    return [v.resource for v in reversed(versions) if v.resource is not None]


def owner_choices(commune_code: str) -> dict[str, str]:
    """Who a response Task may be assigned to: the commune's station, or a regional medical
    centre or the provincial hospital of its province (Organization id -> name)."""
    station = facility(commune_station_id(commune_code))
    others = [
        f for f in facilities(commune(commune_code).province_code)
        if f.kind in ("regional_hospital", "provincial_hospital")
    ]  # fmt: skip
    return {f.id: f.name for f in [station, *others]}


@dataclass(frozen=True, slots=True)
class Review:
    alert: dict
    task: dict | None


def review_alert(
    caller: Caller,
    alert_key: str,
    *,
    action: str,
    note: str | None = None,
    owner: str | None = None,
) -> Review:
    """Confirm (creating the outbreak-response Task for `owner`, default the commune station)
    or dismiss (with a reason in `note`) an open alert; FhirError 400 naming the field, 404,
    or 409 when it was already reviewed."""
    p = caller.principal
    require_officer(p, "write")
    alert = get_alert(caller.store, p, alert_key)
    s = signal_of(alert)
    choices = owner_choices(s.commune)
    owner = owner or commune_station_id(s.commune)
    if action == "confirm" and owner not in choices:
        raise FhirError.single(
            400, "invalid", f"owner: {owner!r} is not one of {', '.join(choices)}", "owner"
        )
    when, by = utc_now(), author(p.id, p.display)
    try:
        new = reviewed(alert, action=action, note=note, by=by, when=when)
    except ReviewError as exc:
        status, code = (409, "conflict") if exc.conflict else (400, "invalid")
        raise FhirError.single(status, code, f"{exc.field}: {exc}", exc.field) from None
    task = None
    if action == "confirm":
        owner_ref = {"reference": f"Organization/{owner}", "display": choices[owner]}
        task = response_task(new, owner=owner_ref, by=by, when=when)
    version = int(alert["meta"]["versionId"])
    with caller.store.transaction() as writer:
        stored = writer.update(new, if_match=version)
        references = [f"DetectedIssue/{alert_key}"]
        if task is not None:
            task = writer.create(task)
            references.append(f"Task/{task['id']}")
        event = audit_event(
            principal=p,
            context=caller.context,
            interaction="update",
            outcome="success",
            references=references,
            description=f"surveillance alert {state_of(stored)}",
        )
        writer.create_many([event], check=False)
    return Review(stored, task)


def alert_task(store: ResourceStore, alert: dict) -> dict | None:
    """The response Task of a confirmed alert."""
    try:
        return store.read("Task", response_task_id(alert["id"]))
    except ResourceNotFound:
        return None


# --- weekly counts and forecasts ---------------------------------------------------------------


def province_weekly(
    store: ResourceStore, *, province_code: str, disease: str, level: str = "commune"
) -> tuple[WeeklySeries, int]:
    """A province's weekly counts of a disease (per commune, or for the province: `level`) and
    how many case reports of the database could not be counted (`aggregation.Cases.unplaced`)."""
    cases = agg.read_cases(store.engine)
    series = agg.weekly_series(
        store.engine, province_code=province_code, disease=disease, level=level, cases=cases
    )
    return series, cases.unplaced


@dataclass(frozen=True, slots=True)
class ProvinceForecast:
    """A province's weekly counts of a disease (`weeks`, `counts`), the forecast of the
    `future` weeks, the back-test when asked for, and how many case reports of the database
    could not be counted (`unplaced`)."""

    weeks: np.ndarray  # datetime64[D]
    counts: np.ndarray
    future: list[date]
    forecast: Forecast
    backtest: Backtest | None
    unplaced: int


@lru_cache(maxsize=64)
def _forecasts(counts: bytes, backtest_weeks: int | None) -> tuple[Forecast, Backtest | None]:
    """The forecast and back-test of a series of counts (float64 bytes): pure functions of the
    counts, so cached by them in this process. A page view refits the back-test (26 origins,
    about 0.8 s) only when a week has passed or a report changed the counts."""
    y = np.frombuffer(counts, dtype=np.float64)
    tested = backtest(y, weeks=backtest_weeks) if backtest_weeks else None
    return forecast(y, horizon=HORIZON), tested


def province_forecast(
    store: ResourceStore,
    *,
    province_code: str,
    disease: str,
    backtest_weeks: int | None = None,
    end: date | None = None,
) -> ProvinceForecast:
    """Forecast the weeks after `end` (default: the last complete week) of a province's cases
    (`songkhoe.surveillance.forecast`), with the rolling-origin back-test over the last
    `backtest_weeks` weeks."""
    cases = agg.read_cases(store.engine)
    series = agg.weekly_series(
        store.engine, province_code=province_code, disease=disease, end=end, level="province",
        cases=cases,
    )  # fmt: skip
    counts = series.counts[0].astype(np.float64)
    last = series.dates[-1].item()
    predicted, tested = _forecasts(counts.tobytes(), backtest_weeks)
    return ProvinceForecast(
        weeks=series.dates,
        counts=counts,
        future=[last + timedelta(weeks=h + 1) for h in range(HORIZON)],
        forecast=predicted,
        backtest=tested,
        unplaced=cases.unplaced,
    )
