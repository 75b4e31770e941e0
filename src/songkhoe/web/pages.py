"""What every server-rendered page shares: who is looking (a `Viewer`), the page frame with its
navigation, CSRF-checked forms, and the templates' filters: `local_date` and `local_time` show
stored UTC times in Vietnam's time (songkhoe.timezones), `person_name` a person's name or, for
someone without one, "(chưa có tên)" (songkhoe.fhir.names).

A domain's pages live on a module-level router made by `page_router()`: every route on it is for
logged-in users (a request without a session is sent to the login page before the handler runs),
and a handler takes what it needs as FastAPI dependencies: `StoreDep` (the app's store),
`ViewerDep` (who is looking) and `FormDep` (the posted form, its CSRF token checked; a stale one
is answered 403 "expired_form"; `FormDataDep` the same as Starlette's FormData, for file uploads
and repeated fields). A domain keeps its templates under `web/templates/<domain>/`,
registers its interface text with `songkhoe.web.i18n.register` and its menu entries with
`register_nav`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.datastructures import FormData

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import ROLE_LABELS_VI, Principal
from songkhoe.auth.policy import Access, stations
from songkhoe.fhir.deps import StoreDep
from songkhoe.fhir.names import NO_NAME, full_name
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import commune, province
from songkhoe.places.facilities import station_communes
from songkhoe.timezones import local_date, local_time
from songkhoe.web.i18n import language, register, translator
from songkhoe.web.session import (
    SESSION_COOKIE,
    CsrfFailure,
    check_token,
    current_session,
    form_data,
)

register({"no_name": NO_NAME})


@pass_context
def person_name(context: Context, person: dict | str | None) -> str:
    """The name to show for a person: `full_name` of a Patient (or the name already worked out
    from one), else "(chưa có tên)" in the page's language."""
    name = full_name(person) if isinstance(person, dict) else person
    return name or context["t"]("no_name")


TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
TEMPLATES.env.filters.update(local_date=local_date, local_time=local_time, person_name=person_name)


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A link in the page header, shown to the users for whom `visible(access)` holds."""

    path: str
    label_key: str
    visible: Callable[[Access], bool]
    order: int


NAV: list[NavEntry] = []


def register_nav(path: str, label_key: str, visible: Callable[[Access], bool], order: int) -> None:
    """Add a header link (idempotent: a path is registered once)."""
    if all(entry.path != path for entry in NAV):
        NAV.append(NavEntry(path, label_key, visible, order))
        NAV.sort(key=lambda entry: entry.order)


@dataclass(frozen=True, slots=True)
class Viewer:
    """A logged-in user looking at a page: their audited `caller` and the session's CSRF token."""

    caller: Caller
    csrf: str

    @property
    def principal(self) -> Principal:
        return self.caller.principal

    @property
    def access(self) -> Access:
        return self.caller.access

    @property
    def communes(self) -> list[str] | None:
        """The codes of the communes of the viewer's place (None: the whole country)."""
        return station_communes(stations(self.principal.place))


def viewer(store: ResourceStore, request: Request) -> Viewer | None:
    """The logged-in user of `request`, or None."""
    session = current_session(store, request)
    if session is None:
        return None
    address = request.client.host if request.client else None
    return Viewer(Caller(store, session.principal, RequestContext(address)), session.csrf_token)


class LoginRequired(Exception):
    """A page asked for without a session: answered with the login page (`install`)."""


class ExpiredForm(Exception):
    """A form posted without the session's CSRF token: answered 403 "expired_form"."""

    def __init__(self, who: Viewer) -> None:
        self.who = who


def logged_in(request: Request, store: StoreDep) -> Viewer:
    """The dependency of every page route: the viewer, or LoginRequired."""
    who = viewer(store, request)
    if who is None:
        raise LoginRequired
    return who


ViewerDep = Annotated[Viewer, Depends(logged_in)]


def _require_token(who: Viewer, token: object) -> None:
    """ExpiredForm unless `token` is the viewer's session CSRF token."""
    try:
        check_token(who.csrf, token if isinstance(token, str) else None)
    except CsrfFailure:
        raise ExpiredForm(who) from None


async def csrf_form(request: Request, who: ViewerDep) -> dict[str, str]:
    """The posted form if it carries the session's CSRF token, else ExpiredForm."""
    form = await form_data(request)
    _require_token(who, form.get("csrf"))
    return form


FormDep = Annotated[dict[str, str], Depends(csrf_form)]


async def csrf_form_data(request: Request, who: ViewerDep) -> FormData:
    """The posted form as Starlette parses it, for what FormDep's dict cannot hold: a multipart
    body's files and repeated fields (checkboxes); its CSRF token checked like FormDep's."""
    form = await request.form()
    _require_token(who, form.get("csrf"))
    return form


FormDataDep = Annotated[FormData, Depends(csrf_form_data)]


def page_router(**options) -> APIRouter:
    """A router of pages for logged-in users only (see the module's docstring)."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(logged_in)], **options)


def to_login() -> Response:
    return RedirectResponse("/login", 303)


def install(app: FastAPI) -> None:
    """Answer the page kit's exceptions: the login page, or the expired-form message."""

    async def login_required(request: Request, _exc: Exception) -> Response:
        response = to_login()
        if SESSION_COOKIE in request.cookies:  # ended or expired: forget it
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def expired_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ExpiredForm)
        return message(request, exc.who, 403, "expired_form")

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(ExpiredForm, expired_form)


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """A template with the interface language and its translator `t`, no user frame."""
    lang = language(request)
    return TEMPLATES.TemplateResponse(
        request, name, {"t": translator(lang), "lang": lang, **context}, status_code=status
    )


def place_label(principal: Principal) -> str:
    place = principal.place
    if place.kind == "commune":
        return commune(place.code).full_name
    if place.kind == "province":
        return province(place.code).full_name
    return place.code or "Toàn quốc"


def page(request: Request, name: str, who: Viewer, status: int = 200, **context) -> HTMLResponse:
    """A template in the logged-in frame: user, role, place, navigation and the CSRF token."""
    p = who.principal
    return render(
        request,
        name,
        status,
        csrf=who.csrf,
        user=p.display,
        role=ROLE_LABELS_VI.get(p.role, p.role),
        place=place_label(p),
        nav=[entry for entry in NAV if entry.visible(who.access)],
        current_path=request.url.path,
        **context,
    )


def message(request: Request, who: Viewer, status: int, key: str) -> HTMLResponse:
    """A page that only says `t(key)` (refusals, not found, ...)."""
    return page(request, "message.html", who, status, message=key)


def refused(request: Request, who: Viewer, exc: FhirError) -> HTMLResponse:
    """The page of a FHIR interaction the caller was refused: "forbidden" for a 403, "not found"
    otherwise (the record is hidden, or is not there)."""
    return message(request, who, exc.status, "forbidden" if exc.status == 403 else "not_found")


@dataclass(frozen=True, slots=True)
class Panel:
    """A block another domain adds to the home page or to a person's chart: `load` returns the
    template's `panel` context, or None when there is nothing to show to this viewer. A loader
    that reads personal data audits it (`who.caller.audit_found`)."""

    template: str
    load: Callable[..., dict | None]
    order: int


HOME_PANELS: list[Panel] = []
CHART_PANELS: list[Panel] = []


def _add(panels: list[Panel], panel: Panel) -> None:
    if all(p.template != panel.template for p in panels):
        panels.append(panel)
        panels.sort(key=lambda p: p.order)


def register_home_panel(
    template: str, load: Callable[[ResourceStore, Viewer], dict | None], order: int
) -> None:
    _add(HOME_PANELS, Panel(template, load, order))


def register_chart_panel(
    template: str, load: Callable[[ResourceStore, Viewer, str], dict | None], order: int
) -> None:
    """`load(store, who, patient_id)` for a patient the viewer may already see."""
    _add(CHART_PANELS, Panel(template, load, order))


def home_panels(store: ResourceStore, who: Viewer) -> list[tuple[str, dict]]:
    """(template, context) of the home panels that have something for this viewer."""
    loaded = ((p.template, p.load(store, who)) for p in HOME_PANELS)
    return [(template, data) for template, data in loaded if data is not None]


def chart_panels(store: ResourceStore, who: Viewer, patient_id: str) -> list[tuple[str, dict]]:
    loaded = ((p.template, p.load(store, who, patient_id)) for p in CHART_PANELS)
    return [(template, data) for template, data in loaded if data is not None]


DASHBOARD_PANELS: list[Panel] = []


def register_dashboard_panel(
    template: str, load: Callable[[ResourceStore, Viewer], dict | None], order: int
) -> None:
    """A block on the dashboard page (e.g. surveillance alerts): `load(store, who)` returns the
    template's `panel` context or None. Aggregates only: the dashboard is the managers' page."""
    _add(DASHBOARD_PANELS, Panel(template, load, order))


def dashboard_panels(store: ResourceStore, who: Viewer) -> list[tuple[str, dict]]:
    loaded = ((p.template, p.load(store, who)) for p in DASHBOARD_PANELS)
    return [(template, data) for template, data in loaded if data is not None]
