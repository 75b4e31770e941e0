"""Registering a person with a commune health station: the form, its checks (CCCD format and its
agreement with sex and birth year, card and phone formats; `songkhoe.web.identity`), duplicate
detection, and the Patient written through the audited path.

Only who may register people gets the form or has a post looked at (`may_register`): the
duplicate checks search the whole country. The check before the write only tells the user;
the write itself takes a lock on each identity number (the lock a FHIR conditional create of
that identifier takes) and looks again in the same transaction, so two registrations of one
number at the same moment make one person.
"""

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BHYT, CCCD, EXT_COMMUNE, PHONE
from songkhoe.places.catalog import UnknownPlace, commune, province
from songkhoe.places.facilities import commune_station_id
from songkhoe.web import identity
from songkhoe.web.checkup import today_in_vietnam
from songkhoe.web.forms import Field, validate
from songkhoe.web.i18n import language, register, translator
from songkhoe.web.pages import Viewer, checked_form, message, page, to_login, viewer

register(
    {
        "register_person": ("Đăng ký người dân", "Register a person"),
        "family_name": ("Họ", "Family name"),
        "given_names": ("Tên đệm và tên", "Middle and given names"),
        "address_line": ("Số nhà, thôn/tổ dân phố", "House, village"),
        "commune": ("Xã/phường", "Commune"),
        "commune_code": ("Mã xã/phường (5 chữ số)", "Commune code (5 digits)"),
        "cccd_hint": ("12 chữ số, ví dụ 027160000001", "12 digits, e.g. 027160000001"),
        "bhyt_hint": ("15 ký tự, ví dụ GD4270000000001", "15 characters, e.g. GD4270000000001"),
        "cccd_province": (
            "3 chữ số đầu phải là mã tỉnh nơi đăng ký khai sinh.",
            "The first 3 digits must be a birth-province code.",
        ),
        "cccd_century": (
            "Chữ số thứ 4 (thế kỷ và giới tính) không khớp với năm sinh.",
            "The 4th digit (century and sex) does not match the birth year.",
        ),
        "cccd_year": (
            "Chữ số thứ 5-6 phải là 2 số cuối của năm sinh.",
            "Digits 5-6 must be the last two digits of the birth year.",
        ),
        "cccd_sex": (
            "Chữ số thứ 4 (thế kỷ và giới tính) không khớp với giới tính.",
            "The 4th digit (century and sex) does not match the sex.",
        ),
        "cccd_taken": (
            "Số CCCD này đã được đăng ký cho một người khác.",
            "This citizen ID is already registered for someone.",
        ),
        "bhyt_taken": (
            "Số thẻ BHYT này đã được đăng ký cho một người khác.",
            "This insurance card is already registered for someone.",
        ),
        "same_person": (
            "Đã có người cùng họ tên và ngày sinh. Kiểm tra lại, hoặc đánh dấu xác nhận "
            "đây là người khác.",
            "Someone with the same name and date of birth exists. Check, or confirm "
            "that this is another person.",
        ),
        "confirm_new": ("Tôi xác nhận đây là một người khác", "I confirm this is another person"),
        "unknown_commune": (
            "Mã xã/phường không có trong danh mục 2025.",
            "This commune code is not on the 2025 map.",
        ),
        "outside_place": (
            "Xã/phường này không thuộc địa bàn của bạn.",
            "This commune is outside your area.",
        ),
    }
)

SEX = (("male", "male"), ("female", "female"))


def may_register(who: Viewer) -> bool:
    """Whether the viewer may register people: Patient write access, person-level access, and
    a place whose stations they work for (a specialist's hospital is none: they see the
    people shared with them)."""
    access = who.access
    return (
        access.principal.allows("Patient", "write")
        and access.sees_people
        and (access.unrestricted or access.place_based)
    )


def _commune_choices(who: Viewer) -> tuple[tuple[str, str], ...] | None:
    """(code, name) of the communes the viewer may register people in; None for everywhere."""
    codes = who.communes
    return None if codes is None else tuple((code, commune(code).full_name) for code in codes)


def fields(who: Viewer) -> list[Field]:
    choices = _commune_choices(who)
    place = (
        Field("commune", "commune_code", "text", True, pattern=r"\d{5}")
        if choices is None
        else Field("commune", "commune", "select", True, choices=choices, translate_choices=False)
    )
    return [
        Field("family", "family_name", "text", True, maxlength=40),
        Field("given", "given_names", "text", True, maxlength=60),
        Field("sex", "sex", "select", True, choices=SEX),
        Field(
            "birth",
            "birth_date",
            "date",
            True,
            min="1900-01-01",
            max=today_in_vietnam().isoformat(),
        ),
        Field("cccd", "cccd", pattern=identity.CCCD_PATTERN, maxlength=12, hint_key="cccd_hint"),
        Field("bhyt", "bhyt", pattern=identity.BHYT_PATTERN, maxlength=15, hint_key="bhyt_hint"),
        Field("phone", "phone", pattern=identity.PHONE_PATTERN, maxlength=10),
        Field("line", "address_line", "text", True, maxlength=120),
        place,
    ]


def patient_resource(values: dict) -> dict:
    code = values["commune"]
    place = commune(code)
    given = values["given"].split()
    identifiers = [{"system": CCCD, "value": values["cccd"]}] if values.get("cccd") else []
    if values.get("bhyt"):
        identifiers.append({"system": BHYT, "value": values["bhyt"].upper()})
    patient = {
        "resourceType": "Patient",
        "identifier": identifiers,
        "active": True,
        "name": [
            {
                "use": "official",
                "text": " ".join([values["family"], *given]),
                "family": values["family"],
                "given": given,
            }
        ],
        "gender": values["sex"],
        "birthDate": values["birth"].isoformat(),
        "address": [
            {
                "use": "home",
                "line": [values["line"]],
                "city": place.full_name,
                "state": province(place.province_code).full_name,
                "country": "VN",
                "extension": [{"url": EXT_COMMUNE, "valueCode": code}],
            }
        ],
        "managingOrganization": {"reference": f"Organization/{commune_station_id(code)}"},
    }
    if not identifiers:
        del patient["identifier"]
    if values.get("phone"):
        patient["telecom"] = [{"system": PHONE, "value": values["phone"], "use": "mobile"}]
    return patient


def check(store: ResourceStore, who: Viewer, form: dict, t) -> tuple[dict, dict, list[str]]:
    """(values, errors by field, ids of people with the same name and birth date)."""
    values, errors = validate(fields(who), form, t)
    birth: date | None = values.get("birth")
    if values.get("cccd"):
        problem = identity.cccd_problem(values["cccd"], values.get("sex"), birth)
        if problem:
            errors["cccd"] = t(problem)
    code = values.get("commune")
    if code:
        try:
            commune(code)
        except UnknownPlace:
            errors["commune"] = t("unknown_commune")
        else:
            allowed = who.communes
            if allowed is not None and code not in allowed:
                errors["commune"] = t("outside_place")
    same: list[str] = []
    with store.engine.connect() as conn:
        for name in ("cccd", "bhyt"):
            number = values.get(name)
            if number and name not in errors:
                system = identity.IDENTIFIER_SYSTEMS[name]
                if identity.registered_ids(conn, system, number.upper()):
                    errors[name] = t(f"{name}_taken")
        if birth is not None and values.get("family") and values.get("given"):
            full = f"{values['family']} {values['given']}"
            same = identity.same_name_and_birth(conn, full, birth)
    return values, errors, same


class NumberTaken(Exception):
    """An identity number registered meanwhile; `field` names it ("cccd" or "bhyt")."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def create_person(store: ResourceStore, who: Viewer, values: dict) -> dict:
    """Write the Patient through the audited path, in one transaction that first takes the lock
    of each of its identity numbers (in one order) and looks for them again among everyone;
    NumberTaken if one is registered."""
    numbers = sorted(
        (name, identity.IDENTIFIER_SYSTEMS[name], values[name].upper())
        for name in ("cccd", "bhyt")
        if values.get(name)
    )
    caller = who.caller
    with caller.refusals("create", []), store.transaction(caller.guard("create")) as writer:
        for _, system, number in numbers:
            writer.lock(f"Patient?{urlencode([('identifier', f'{system}|{number}')])}")
        for name, system, number in numbers:
            if identity.registered_ids(writer.conn, system, number):
                raise NumberTaken(name)
        return writer.create(patient_resource(values))


def build_router(store: ResourceStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def form_page(request, who, form, errors, same=(), status=200) -> Response:
        return page(
            request,
            "register.html",
            who,
            status,
            fields=fields(who),
            values=form,
            errors=errors,
            same=list(same),
        )

    @router.get("/people/new")
    def new_person(request: Request) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        if not may_register(who):
            return message(request, who, 403, "forbidden")
        choices = _commune_choices(who)
        start = {"commune": choices[0][0]} if choices and len(choices) == 1 else {}
        return form_page(request, who, start, {})

    @router.post("/people/new")
    async def register_person(request: Request) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        if not may_register(who):
            return message(request, who, 403, "forbidden")
        form = await checked_form(request, who)
        if form is None:
            return message(request, who, 403, "expired_form")
        t = translator(language(request))
        values, errors, same = check(store, who, form, t)
        if same and not form.get("confirm_new"):
            errors.setdefault("given", t("same_person"))
        if not errors:
            try:
                created = create_person(store, who, values)
            except NumberTaken as taken:
                errors[taken.field] = t(f"{taken.field}_taken")
            except FhirError as exc:
                return message(request, who, exc.status, "forbidden")
            else:
                return RedirectResponse(f"/people/{created['id']}", 303)
        with store.engine.connect() as conn:
            shown = [pid for pid in same if who.access.check_people(conn, {pid})]
        return form_page(request, who, form, errors, shown, 422)

    return router
