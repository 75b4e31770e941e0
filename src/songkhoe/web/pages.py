"""What every server-rendered page shares: who is looking (a `Viewer`), the page frame with its
navigation, CSRF-checked forms, and the templates' filters: `local_date` and `local_time` show
stored UTC times in Vietnam's time (songkhoe.timezones), `person_name` a Patient's name.

A domain's UI router (ncd, surveillance, imaging, telehealth, chatbot, ...) builds its pages with
these helpers, keeps its templates under `web/templates/<domain>/`, registers its interface text
with `songkhoe.web.i18n.register` and its menu entries with `register_nav`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from songkhoe.auth.audit import RequestContext
from songkhoe.auth.caller import Caller
from songkhoe.auth.models import ROLE_LABELS_VI, Principal
from songkhoe.auth.policy import Access, stations
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import commune, province
from songkhoe.places.facilities import station_communes
from songkhoe.timezones import local_date, local_time
from songkhoe.web.i18n import language, translator
from songkhoe.web.identity import full_name
from songkhoe.web.session import CsrfFailure, check_token, current_session, form_data

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
TEMPLATES.env.filters.update(local_date=local_date, local_time=local_time, person_name=full_name)


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
    """The logged-in user of `request`, or None (then answer with `to_login()`)."""
    session = current_session(store, request)
    if session is None:
        return None
    address = request.client.host if request.client else None
    return Viewer(Caller(store, session.principal, RequestContext(address)), session.csrf_token)


def to_login() -> Response:
    return RedirectResponse("/login", 303)


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


async def checked_form(request: Request, who: Viewer) -> dict[str, str] | None:
    """The posted form if it carries the session's CSRF token, else None (answer with
    `message(request, who, 403, "expired_form")`)."""
    form = await form_data(request)
    try:
        check_token(who.csrf, form.get("csrf"))
    except CsrfFailure:
        return None
    return form


async def posted_form(
    store: ResourceStore, request: Request
) -> tuple[Viewer, dict[str, str]] | Response:
    """The logged-in viewer and their CSRF-checked form, or the answer to send instead: to the
    login page, or 403 "expired_form"."""
    who = viewer(store, request)
    if who is None:
        return to_login()
    form = await checked_form(request, who)
    if form is None:
        return message(request, who, 403, "expired_form")
    return who, form


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
