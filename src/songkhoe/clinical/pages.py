"""The pages about people: finding a person (/people), a person's record (/people/{id}) with the
panels other domains add to it and who looked at it, and registering a person (/people/new);
and the home page's people block. Every page that shows personal data goes through the same
access policy and audit trail as the FHIR API (songkhoe.auth.caller)."""

from datetime import datetime

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from songkhoe.clinical import people, registration
from songkhoe.clinical import texts as _texts  # noqa: F401  (registers the interface text)
from songkhoe.clinical.documents import one_line
from songkhoe.clinical.identity import BHYT_PATTERN, CCCD_PATTERN, PHONE_PATTERN
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BHYT, CCCD
from songkhoe.places.catalog import commune
from songkhoe.terminology import vn_core
from songkhoe.timezones import VIETNAM
from songkhoe.web.forms import Field, validate
from songkhoe.web.i18n import language, translator
from songkhoe.web.pages import (
    FormDep,
    StoreDep,
    Viewer,
    ViewerDep,
    chart_panels,
    message,
    page,
    page_router,
    register_home_panel,
    register_nav,
)
from songkhoe.web.records import RecordRefused, open_record

SEX = (("male", "male"), ("female", "female"))

router = page_router()
register_nav("/people", "people", lambda access: access.sees_people, order=10)


def home_panel(store: ResourceStore, who: Viewer) -> dict:
    """The home page's people block: the search and, for who may, the registration link; for who
    sees aggregates only, where to find them."""
    return {
        "sees_people": who.access.sees_people,
        "can_register": registration.may_register(who.access),
    }


register_home_panel("clinical/home_panel.html", home_panel, order=10)


@router.get("/people")
def find_people(request: Request, who: ViewerDep, q: str = "") -> Response:
    if not who.access.sees_people:
        return message(request, who, 403, "aggregates_only")
    results = people.find(who.caller, q) if q.strip() else []
    return page(request, "clinical/people.html", who, q=q, results=results)


def _commune_choices(who: Viewer) -> tuple[tuple[str, str], ...] | None:
    """(code, name) of the communes the viewer may register people in; None for everywhere."""
    codes = who.communes
    return None if codes is None else tuple((code, commune(code).full_name) for code in codes)


def registration_fields(who: Viewer) -> list[Field]:
    """The registration form, with the viewer's communes to choose from."""
    choices = _commune_choices(who)
    place = (
        Field("commune", "commune_code", "text", True, pattern=r"\d{5}")
        if choices is None
        else Field("commune", "commune", "select", True, choices=choices, translate_choices=False)
    )
    today = datetime.now(VIETNAM).date()
    return [
        Field("family", "family_name", "text", True, maxlength=40),
        Field("given", "given_names", "text", True, maxlength=60),
        Field("sex", "sex", "select", True, choices=SEX),
        Field("birth", "birth_date", "date", True, min="1900-01-01", max=today.isoformat()),
        Field("cccd", "cccd", pattern=CCCD_PATTERN, maxlength=12, hint_key="cccd_hint"),
        Field("bhyt", "bhyt", pattern=BHYT_PATTERN, maxlength=15, hint_key="bhyt_hint"),
        Field("phone", "phone", pattern=PHONE_PATTERN, maxlength=10),
        Field(
            "ethnic_group",
            "ethnic_group",
            "select",
            choices=tuple(vn_core.ethnic_groups().items()),
            translate_choices=False,
        ),
        Field(
            "occupation",
            "occupation",
            "select",
            choices=tuple(vn_core.occupations().items()),
            translate_choices=False,
        ),
        Field("line", "address_line", "text", True, maxlength=120),
        place,
    ]


def _registration_page(
    request: Request,
    who: Viewer,
    form: dict,
    errors: dict[str, str],
    same: list[str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "clinical/register.html",
        who,
        status,
        fields=registration_fields(who),
        values=form,
        errors=errors,
        same=same or [],
    )


@router.get("/people/new")
def new_person(request: Request, who: ViewerDep) -> Response:
    if not registration.may_register(who.access):
        return message(request, who, 403, "forbidden")
    choices = _commune_choices(who)
    start = {"commune": choices[0][0]} if choices and len(choices) == 1 else {}
    return _registration_page(request, who, start, {})


@router.post("/people/new")
def register_person(request: Request, who: ViewerDep, form: FormDep) -> Response:
    """Register a person, or answer the form again with what is wrong next to its fields (422);
    people with the same name and birth date are shown, if the viewer may see them, and the
    registration waits for the viewer to confirm that this is someone else."""
    if not registration.may_register(who.access):
        return message(request, who, 403, "forbidden")
    t = translator(language(request))
    values, errors = validate(registration_fields(who), form, t)
    problems, same = registration.check(who.caller, values, who.communes)
    errors.update((name, t(key)) for name, key in problems.items())
    if same and not form.get("confirm_new"):
        errors.setdefault("given", t("same_person"))
    if not errors:
        try:
            created = registration.create_person(who.caller, values)
        except registration.NumberTaken as taken:
            errors[taken.field] = t(f"{taken.field}_taken")
        except FhirError as exc:
            return message(request, who, exc.status, "forbidden")
        else:
            return RedirectResponse(f"/people/{created['id']}", 303)
    shown = registration.visible_people(who.caller, same)
    return _registration_page(request, who, form, errors, shown, 422)


@router.get("/people/{patient_id}")
def person(request: Request, store: StoreDep, who: ViewerDep, patient_id: str) -> Response:
    """A person's record: who they are, then the panels the domains add (each reads and audits
    its own part)."""
    try:
        patient = open_record(store, who.caller, patient_id, "Patient")
    except RecordRefused as refused:
        return message(request, who, refused.status, refused.key)
    panels = chart_panels(store, who, patient_id)
    addresses = [one_line(a) for a in patient.get("address", [])]
    return page(
        request,
        "clinical/person.html",
        who,
        patient=patient,
        facts=_facts(patient),
        addresses=addresses,
        panels=panels,
    )


_NUMBERS = {CCCD: "cccd", BHYT: "bhyt"}
_CODED = (
    ("ethnic_group", vn_core.EXT_ETHNIC_GROUP, vn_core.ethnic_groups),
    ("occupation", vn_core.EXT_OCCUPATION, vn_core.occupations),
)


def _facts(patient: dict) -> list[tuple[str, str]]:
    """(label key, value) of a person's identity numbers and VN Core ethnic group and occupation."""
    facts = [
        (_NUMBERS[i["system"]], i["value"])
        for i in patient.get("identifier", ())
        if i.get("system") in _NUMBERS and i.get("value")
    ]
    for key, url, names in _CODED:
        code = vn_core.extension_code(patient, url)
        if code is not None:
            facts.append((key, names().get(code, code)))
    return facts


@router.get("/people/{patient_id}/access-log")
def access_log(request: Request, store: StoreDep, who: ViewerDep, patient_id: str) -> Response:
    try:
        open_record(store, who.caller, patient_id, "AuditEvent")
    except RecordRefused as refused:
        return message(request, who, refused.status, refused.key)
    events = people.access_log(who.caller, patient_id)
    return page(request, "clinical/access_log.html", who, patient_id=patient_id, events=events)
