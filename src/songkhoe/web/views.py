"""Server-rendered pages for health workers: login, home, finding a person, a person's record
and who looked at it. Every page that shows personal data goes through the same access policy
and audit trail as the FHIR API (songkhoe.auth.caller)."""

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from songkhoe.auth.service import (
    InvalidCredentials,
    LoginThrottled,
    create_session,
    end_session,
)
from songkhoe.auth.service import authenticate as check_password
from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BHYT, CCCD
from songkhoe.web import assets, checkup, dashboard, map_views, registration, worklist_views
from songkhoe.web.chart import load as load_chart
from songkhoe.web.i18n import LANGUAGES, language, translator
from songkhoe.web.pages import (
    chart_panels,
    checked_form,
    home_panels,
    message,
    page,
    register_nav,
    render,
    to_login,
    viewer,
)
from songkhoe.web.records import RecordRefused, open_record
from songkhoe.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfFailure,
    check_token,
    current_session,
    form_data,
    new_login_token,
    set_cookie,
)

SESSION_SECONDS = 8 * 3600
DIGITS = re.compile(r"\d{9,12}")
INSURANCE = re.compile(r"[A-Za-z]{2}\d{13}")


def _person_query(text: str) -> list[tuple[str, str]]:
    """The FHIR search for what a health worker types: a CCCD or phone number (digits), an
    insurance card number (2 letters + 13 digits), else a name."""
    text = text.strip()
    compact = text.replace(" ", "")
    if INSURANCE.fullmatch(compact):
        return [("identifier", f"{BHYT}|{compact.upper()}")]
    if DIGITS.fullmatch(compact):
        return [("identifier", f"{CCCD}|{compact}") if len(compact) == 12 else ("phone", compact)]
    return [("name", word) for word in text.split()]


register_nav("/people", "people", lambda access: access.sees_people, order=10)


def build_router(store: ResourceStore) -> APIRouter:
    """The pages of the web app; the sub-routers come first so that their fixed paths
    (/people/new, /static/vendor/...) win over the patterns below and the /static mount."""
    router = APIRouter(include_in_schema=False)
    router.include_router(assets.build_router())
    for module in (registration, checkup, worklist_views, dashboard, map_views):
        router.include_router(module.build_router(store))

    def login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        token = new_login_token()
        response = render(request, "login.html", status, csrf=token, error=error)
        set_cookie(response, request, LOGIN_CSRF_COOKIE, token, 3600)
        return response

    @router.get("/login")
    def login_form(request: Request) -> Response:
        if current_session(store, request) is not None:
            return RedirectResponse("/", 303)
        return login_page(request)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await form_data(request)
        t = translator(language(request))
        try:
            check_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf"))
        except CsrfFailure:
            return login_page(request, t("expired_form"), 403)
        address = request.client.host if request.client else "unknown"
        try:
            principal = check_password(
                store.engine,
                username=form.get("username", "").strip().lower(),
                password=form.get("password", ""),
                address=address,
            )
        except LoginThrottled:
            return login_page(request, t("throttled"), 429)
        except InvalidCredentials:
            return login_page(request, t("wrong_login"), 401)
        cookie, _ = create_session(store.engine, principal)
        response = RedirectResponse("/", 303)
        set_cookie(response, request, SESSION_COOKIE, cookie, SESSION_SECONDS)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who = viewer(store, request)
        if who is not None:
            if await checked_form(request, who) is None:
                return message(request, who, 403, "expired_form")
            end_session(store.engine, request.cookies[SESSION_COOKIE])
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/lang/{code}")
    def switch_language(code: str) -> Response:
        response = RedirectResponse("/", 303)
        if code in LANGUAGES:
            response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
        return response

    @router.get("/")
    def home(request: Request) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        caller = who.caller
        code = worklist_views.chosen_commune(who, None)
        place = who.principal.place
        return page(
            request,
            "home.html",
            who,
            sees_people=caller.access.sees_people,
            worklists=worklist_views.counts(store, who, code)
            if code and place.kind == "commune"
            else None,
            commune_code=code,
            can_register=registration.may_register(who),
            panels=home_panels(store, who),
        )

    @router.get("/people")
    def people(request: Request, q: str = "") -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        caller = who.caller
        if not caller.access.sees_people:
            return message(request, who, 403, "aggregates_only")
        results: list[dict] = []
        if q.strip():
            items = _person_query(q) + [("_count", "50"), ("_sort", "family")]
            query = parse_query("Patient", items)
            query.restrict = caller.access.restriction
            with store.engine.connect() as conn:
                results = [r for _, r in fhir_search.page(conn, "Patient", query)]
            caller.audit_found("search-type", results, f"Patient?{urlencode(items)}")
        return page(request, "people.html", who, q=q, results=results)

    @router.get("/people/{patient_id}")
    def person(request: Request, patient_id: str) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        caller = who.caller
        try:
            patient = open_record(store, caller, patient_id, "Patient")
        except RecordRefused as refused:
            return message(request, who, refused.status, refused.key)

        chart = load_chart(store, caller, patient_id, translator(language(request)))
        caller.audit_found("search-type", chart.found, f"Patient/{patient_id}: chart")
        return page(
            request,
            "person.html",
            who,
            patient=patient,
            chart=chart,
            can_write=caller.access.principal.allows("Observation", "write"),
            panels=chart_panels(store, who, patient_id),
        )

    @router.get("/people/{patient_id}/access-log")
    def access_log(request: Request, patient_id: str) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        caller = who.caller
        try:
            open_record(store, caller, patient_id, "AuditEvent")
        except RecordRefused as refused:
            return message(request, who, refused.status, refused.key)
        items = [("patient", patient_id), ("_sort", "-date"), ("_count", "200")]
        query = parse_query("AuditEvent", items)
        query.restrict = caller.access.restriction
        with store.engine.connect() as conn:
            events = [r for _, r in fhir_search.page(conn, "AuditEvent", query)]
        return page(request, "access_log.html", who, patient_id=patient_id, events=events)

    return router
