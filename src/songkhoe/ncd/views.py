"""The NCD pages: the check-up form and the saved check-up (`songkhoe.ncd.checkup`), the
commune station's worklists with a way to record a call or a home visit
(`songkhoe.ncd.worklist_read`, `songkhoe.ncd.contacts`), and the managers' dashboard of the NCD
indicators (`songkhoe.ncd.figures`) with the blocks other domains register for it. Also the
home page's worklist counts, and the NCD rates on the disease map.

The check-up form's fields carry their ranges (browser and server check the same `Field`s; the
ranges are the data-entry limits of `songkhoe.ncd.inputs.PLAUSIBLE` where it has one). It posts,
then the browser is sent (303) to the saved check-up's own page, which reads it back and shows
its risk (POST/redirect/GET: refreshing that page saves nothing again). On a worklist, with htmx
the row is replaced in place; without JavaScript the form posts and the page comes back.
"""

from datetime import date
from typing import Annotated

import numpy as np
from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from songkhoe.auth.policy import covers
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd import panel as _panel  # noqa: F401  (registers the chart panel)
from songkhoe.ncd import texts as _texts  # noqa: F401  (registers the interface text)
from songkhoe.ncd.checkup import save_checkup, saved_checkup
from songkhoe.ncd.contacts import record_contact
from songkhoe.ncd.figures import MAP_RATES, area_rate, dashboard, projections_month
from songkhoe.ncd.indicators import InvalidMonth
from songkhoe.ncd.inputs import PLAUSIBLE
from songkhoe.ncd.worklist_read import (
    checked_commune,
    may_read,
    now,
    read_worklist,
    worklist_counts,
)
from songkhoe.ncd.worklists import KINDS
from songkhoe.places.catalog import UnknownPlace, commune, communes, province
from songkhoe.timezones import today_in_vietnam
from songkhoe.web import map_indicators, svg
from songkhoe.web.forms import Field, validate
from songkhoe.web.i18n import language, translator
from songkhoe.web.map_views import home_province
from songkhoe.web.pages import (
    FormDep,
    StoreDep,
    Viewer,
    ViewerDep,
    dashboard_panels,
    message,
    page,
    page_router,
    register_home_panel,
    register_nav,
)
from songkhoe.web.records import RecordRefused, open_record

PAGE = 50  # worklist entries per page
SHOWN = (  # the dashboard's rates; the first three have a trend line
    "checkup_coverage_pct",
    "htn_controlled_pct",
    "htn_uncontrolled_pct",
    "htn_missed_visit_pct",
    "dm_bs_below_126_pct",
)
CommuneParam = Annotated[str | None, Query(alias="commune")]

router = page_router()
register_nav("/worklists", "worklists", lambda access: access.place_based, order=20)
register_nav("/dashboard", "dashboard", lambda access: True, order=30)


# --- the check-up -------------------------------------------------------------------------------


def checkup_fields(today: date) -> list[Field]:
    """The check-up form, its ranges (today: the latest date allowed)."""
    sbp, dbp, waist = PLAUSIBLE["sbp"], PLAUSIBLE["dbp"], PLAUSIBLE["waist_cm"]
    chol = PLAUSIBLE["total_cholesterol_mmol"]
    return [
        Field("day", "checkup_date", "date", True, min="2000-01-01", max=today.isoformat()),
        Field("sbp", "sbp", "number", True, sbp[0], sbp[1], "1", "mmHg"),
        Field("dbp", "dbp", "number", True, dbp[0], dbp[1], "1", "mmHg"),
        Field("weight", "weight", "number", False, 2, 300, "0.1", "kg"),
        Field("height", "height", "number", False, 40, 250, "0.1", "cm"),
        Field("waist", "waist", "number", False, waist[0], waist[1], "0.1", "cm"),
        Field(
            "smoking",
            "smoking",
            "select",
            True,
            choices=(
                ("never", "smoke_never"),
                ("former", "smoke_former"),
                ("current", "smoke_current"),
            ),
        ),
        Field("fpg", "fpg", "number", False, 1, 40, "0.1", "mmol/L"),
        Field("cholesterol", "cholesterol", "number", False, chol[0], chol[1], "0.01", "mmol/L"),
    ]


def _checkup_page(
    request: Request, who: Viewer, patient: dict, form: dict, errors: dict, status: int = 200
) -> Response:
    return page(
        request,
        "ncd/checkup.html",
        who,
        status,
        patient=patient,
        fields=checkup_fields(today_in_vietnam()),
        values=form,
        errors=errors,
    )


@router.get("/people/{patient_id}/checkup")
def checkup_form(request: Request, store: StoreDep, who: ViewerDep, patient_id: str) -> Response:
    try:
        patient = open_record(store, who.caller, patient_id, "Encounter", "write")
    except RecordRefused as refused:
        return message(request, who, refused.status, refused.key)
    return _checkup_page(request, who, patient, {"day": today_in_vietnam().isoformat()}, {})


@router.post("/people/{patient_id}/checkup")
def save(
    request: Request, store: StoreDep, who: ViewerDep, form: FormDep, patient_id: str
) -> Response:
    """Save a valid check-up and send the browser to it, or answer the form again with what is
    wrong next to its fields (422)."""
    try:
        patient = open_record(store, who.caller, patient_id, "Encounter", "write")
    except RecordRefused as refused:
        return message(request, who, refused.status, refused.key)
    t = translator(language(request))
    values, errors = validate(checkup_fields(today_in_vietnam()), form, t)
    if "sbp" in values and "dbp" in values and values["dbp"] >= values["sbp"]:
        errors["dbp"] = t("dbp_above_sbp")
    if errors:
        return _checkup_page(request, who, patient, form, errors, 422)
    try:
        encounter_id = save_checkup(
            who.caller, patient, values, fhir_base=f"{request.base_url}fhir"
        )
    except FhirError as exc:
        key = "forbidden" if exc.status in (403, 404) else "save_failed"
        return message(request, who, exc.status, key)
    return RedirectResponse(f"/people/{patient_id}/checkup/{encounter_id}", 303)


@router.get("/people/{patient_id}/checkup/{encounter_id}")
def saved(
    request: Request, store: StoreDep, who: ViewerDep, patient_id: str, encounter_id: str
) -> Response:
    try:
        patient = open_record(store, who.caller, patient_id, "Encounter")
    except RecordRefused as refused:
        return message(request, who, refused.status, refused.key)
    checkup = saved_checkup(who.caller, patient, encounter_id)
    if checkup is None:
        return message(request, who, 404, "not_found")
    return page(
        request,
        "ncd/checkup_saved.html",
        who,
        patient=patient,
        result=checkup.result,
        grade=checkup.grade,
        values=checkup.values,
        day=checkup.day,
        newer_day=checkup.newer_day,
    )


# --- the worklists ------------------------------------------------------------------------------


def chosen_commune(who: Viewer, asked: str | None) -> str | None:
    """The commune asked for, else the first of the viewer's place; None if it is unknown. (Who
    may read its lists is `songkhoe.ncd.worklist_read`'s to say.)"""
    mine = who.communes
    code = asked or (mine[0] if mine else None)
    if code is None:
        return None
    try:
        return commune(code).code
    except UnknownPlace:
        return None


def contact_fields() -> list[Field]:
    return [
        Field(
            "mode",
            "contact_mode",
            "select",
            True,
            choices=(("call", "contact_call"), ("visit", "contact_visit")),
        ),
        Field("note", "contact_note", "text", False, maxlength=200),
    ]


def _refused(request: Request, who: Viewer, exc: FhirError | None = None) -> Response:
    if exc is not None and exc.status == 404:
        return message(request, who, 404, "not_found")
    return message(request, who, 403, "worklist_refused")


def home_panel(_store: ResourceStore, who: Viewer) -> dict | None:
    """The home page's worklists: a commune worker sees how many people each list of their
    commune holds (counted, not audited: a count names nobody); others who may read a
    commune's lists get the way to them."""
    code = chosen_commune(who, None)
    if code is None or not may_read(who.access, code):
        return None
    commune_worker = who.principal.place.kind == "commune"
    return {
        "code": code,
        "counts": worklist_counts(who.caller, code, now()) if commune_worker else None,
    }


register_home_panel("ncd/home_panel.html", home_panel, order=20)


@router.get("/worklists")
def lists(request: Request, who: ViewerDep, commune_code: CommuneParam = None) -> Response:
    code = chosen_commune(who, commune_code)
    if code is None:
        return _refused(request, who)
    try:
        checked_commune(who.caller, code, f"ncd/worklists?commune={code}")
    except FhirError as exc:
        return _refused(request, who, exc)
    return page(
        request,
        "ncd/worklists.html",
        who,
        code=code,
        area_name=commune(code).full_name,
        counts=worklist_counts(who.caller, code, now()),
        communes=[(c, commune(c).full_name) for c in who.communes or []],
    )


def _list_page(
    request: Request,
    who: Viewer,
    kind: str,
    code: str,
    errors: dict | None = None,
    failed: str | None = None,
    status: int = 200,
) -> Response:
    first = request.query_params.get("first", "0")
    start = int(first) if first.isdigit() else 0
    try:
        part = read_worklist(who.caller, kind, code, moment=now(), first=start, count=PAGE)
    except FhirError as exc:
        return _refused(request, who, exc)
    return page(
        request,
        "ncd/worklist.html",
        who,
        status,
        kind=kind,
        code=code,
        first=start,
        page_size=PAGE,
        area_name=commune(code).full_name,
        entries=part.entries,
        total=part.total,
        as_of=part.projections_as_of,
        fields=contact_fields(),
        errors=errors or {},
        failed=failed,
    )


@router.get("/worklists/{kind}")
def one_list(
    request: Request, who: ViewerDep, kind: str, commune_code: CommuneParam = None
) -> Response:
    code = chosen_commune(who, commune_code)
    if code is None:
        return _refused(request, who)
    return _list_page(request, who, kind, code)


@router.post("/worklists/{kind}/contact")
def contact(request: Request, who: ViewerDep, form: FormDep, kind: str) -> Response:
    """Record a call or a visit to a person on a list, sent by the station of the commune."""
    code = chosen_commune(who, form.get("commune"))
    if kind not in KINDS or code is None or not may_read(who.access, code):
        return _refused(request, who)
    patient_id = form.get("patient", "")
    values, errors = validate(contact_fields(), form, translator(language(request)))
    if errors:
        return _list_page(request, who, kind, code, errors, patient_id, 422)
    try:
        mode, note = str(values["mode"]), str(values.get("note") or "")
        record_contact(who.caller, kind, code, patient_id, mode, note)
    except FhirError as exc:
        return message(request, who, exc.status, "forbidden")
    return RedirectResponse(f"/worklists/{kind}?commune={code}#p-{patient_id}", 303)


# --- the dashboard and the map ------------------------------------------------------------------


def place_of(who: Viewer, asked: str | None) -> tuple[str, str]:
    """(kind, code) the dashboard shows: a commune worker's commune, else a province."""
    place = who.principal.place
    if place.kind == "commune" and not asked and place.code:
        return "commune", place.code
    return "province", asked or home_province(who)


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    store: StoreDep,
    who: ViewerDep,
    province_code: Annotated[str | None, Query(alias="province")] = None,
    month: str | None = None,
) -> Response:
    """The NCD indicators of a place for a month, by commune, with the 12-month trend of the main
    rates; for callers whose place covers the place (as the NCD indicators API decides)."""
    kind, code = place_of(who, province_code)
    try:
        area = province(code) if kind == "province" else commune(code)
    except UnknownPlace:
        return message(request, who, 404, "not_found")
    covered = [c.code for c in communes(code)] if kind == "province" else [area.code]
    if not covers(who.principal.place, covered) or who.principal.patient_id is not None:
        return message(request, who, 403, "map_refused")
    month = month or projections_month(store.engine)
    try:
        figures = dashboard(store.engine, (kind, code), covered, month)
    except InvalidMonth:
        return message(request, who, 400, "bad_period")
    t = translator(language(request))
    days = [np.datetime64(m, "D").astype(object) for m in figures.months]
    trend = svg.trend(
        t("trend_12m"),
        [
            svg.Series(
                t(rate),
                [
                    (day, h[rate])
                    for day, h in zip(days, figures.history, strict=True)
                    if h[rate] is not None
                ],
                f"s{i + 1}",
            )  # fmt: skip
            for i, rate in enumerate(SHOWN[:3])
        ],
        unit="%",
    )
    sparks = {rate: svg.sparkline([h[rate] for h in figures.history], t(rate)) for rate in SHOWN}
    return page(
        request,
        "ncd/dashboard.html",
        who,
        kind=kind,
        code=code,
        area_name=area.full_name,
        month=month,
        rows=figures.rows,
        shown=SHOWN,
        trend=trend,
        sparks=sparks,
        as_of=figures.as_of,
        panels=dashboard_panels(store, who),
    )


for _order, (_key, _rate) in enumerate(MAP_RATES):
    map_indicators.register(
        map_indicators.MapIndicator(
            _key, f"map_{_key}", "%", "month", area_rate(_rate), projections_month, _order
        )
    )
