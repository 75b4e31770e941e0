"""The commune station's NCD worklists in the browser (`songkhoe.ncd.worklists`: overdue,
uncontrolled, high risk untreated, undiagnosed raised BP, lung screening), with a way to record
a call or a home visit.

A contact is a FHIR Communication (status completed, category = the worklist, medium PHONE or
FACE from v3 ParticipationMode, subject the person, sender the commune station, the note as
payload) written through the audited path. The lists are computed from the NCD projections,
which `songkhoe ncd refresh` rebuilds; until then a person contacted in the last 30 days stays
on the list marked as contacted, at its end, and a person who has since been deleted, or moved
to a station outside the viewer's place, is left out (the access policy's SQL restriction on
the live Patients). The home page shows how many people each list holds, counted in SQL and not
audited: a count names nobody. With htmx the row is replaced in place; without JavaScript the
form posts and the page comes back.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from songkhoe.fhir import search as fhir_search
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.search import parse_query
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BASE
from songkhoe.ncd.worklists import FOLLOW_UP_DAYS, KINDS, name_entries, worklist
from songkhoe.places.catalog import UnknownPlace, commune
from songkhoe.places.facilities import commune_station_id
from songkhoe.timezones import local_date
from songkhoe.web.forms import Field, validate
from songkhoe.web.i18n import language, register, translator
from songkhoe.web.pages import (
    Viewer,
    message,
    page,
    posted_form,
    register_nav,
    to_login,
    viewer,
)

WORKLIST_SYSTEM = f"{BASE}/CodeSystem/ncd-worklist"
MODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MODES = {"call": "PHONE", "visit": "FACE"}
PAGE = 50  # entries per page

register(
    {
        "worklists": ("Danh sách theo dõi", "Worklists"),
        "today_worklists": ("Việc cần làm hôm nay", "Today's worklists"),
        "wl_overdue": ("Quá hạn tái khám", "Overdue for follow-up"),
        "wl_uncontrolled": ("Huyết áp chưa kiểm soát", "Uncontrolled blood pressure"),
        "wl_high-risk-untreated": (
            "Nguy cơ tim mạch cao chưa điều trị",
            "High CVD risk, untreated",
        ),
        "wl_undiagnosed-htn": ("Huyết áp cao chưa chẩn đoán", "Raised BP, not diagnosed"),
        "wl_lung-screening": ("Cần hỏi để sàng lọc ung thư phổi", "Lung screening: ask"),
        "people_on_list": ("người", "people"),
        "contact_mode": ("Hình thức", "How"),
        "contact_note": ("Ghi chú", "Note"),
        "record_contact": ("Ghi nhận", "Record"),
        "contacted": ("Đã liên hệ", "Contacted"),
        "detail": ("Chi tiết", "Detail"),
        "empty_list": ("Không có ai trong danh sách.", "Nobody on this list."),
        "choose_commune": ("Chọn xã/phường", "Choose a commune"),
        "show": ("Xem", "Show"),
        "projections_as_of": ("Số liệu tính đến", "Figures as of"),
        "worklist_refused": (
            "Danh sách này chỉ dành cho cán bộ của trạm y tế xã.",
            "These lists are for the commune station's staff.",
        ),
    }
)

register_nav("/worklists", "worklists", lambda access: access.place_based, order=20)


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


def chosen_commune(who: Viewer, asked: str | None) -> str | None:
    """The commune asked for (or the viewer's first), if the viewer may see its lists."""
    mine = who.communes
    if not who.access.place_based and not who.access.unrestricted:
        return None
    code = asked or (mine[0] if mine else None)
    if code is None:
        return None
    try:
        commune(code)
    except UnknownPlace:
        return None
    return code if mine is None or code in mine else None


def _now() -> np.datetime64:
    return np.datetime64(datetime.now(UTC).replace(tzinfo=None), "s")


def recent_contacts(store: ResourceStore, who: Viewer, kind: str) -> dict[str, str]:
    """Patient id -> day of the latest contact recorded for this list in the last 30 days."""
    since = (datetime.now(UTC) - timedelta(days=FOLLOW_UP_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = [("category", f"{WORKLIST_SYSTEM}|{kind}"), ("sent", f"ge{since}"), ("_count", "1000")]
    query = parse_query("Communication", items)
    query.restrict = who.access.restriction
    latest: dict[str, str] = {}
    with store.engine.connect() as conn:
        for _, com in fhir_search.page(conn, "Communication", query):
            pid = com["subject"]["reference"].removeprefix("Patient/")
            latest[pid] = max(latest.get(pid, ""), local_date(com.get("sent")))
    return latest


def load_list(
    store: ResourceStore, who: Viewer, kind: str, code: str, first: int
) -> tuple[list, int, str | None]:
    """The page of a list that starts at entry `first` (`PAGE` entries, named and audited),
    the number of entries, and the projections' moment. Each entry has `contacted` (a day or
    None); the contacted come last."""
    entries, as_of = worklist(store.engine, kind=kind, commune_code=code, now=_now(), named=False)
    with store.engine.connect() as conn:
        seen = who.access.live_visible_patients(conn, [e["patient_id"] for e in entries])
        entries = [e for e in entries if e["patient_id"] in seen]
        contacts = recent_contacts(store, who, kind) if entries else {}
        for e in entries:
            e["contacted"] = contacts.get(e["patient_id"])
        entries.sort(key=lambda e: e["contacted"] is not None)
        shown = entries[first : first + PAGE]
        name_entries(conn, shown)
    people = [{"resourceType": "Patient", "id": e["patient_id"]} for e in shown]
    who.caller.audit_found(
        "search-type", people, f"ncd/worklists/{kind}?commune={code}&first={first}"
    )
    return shown, len(entries), as_of


def counts(store: ResourceStore, who: Viewer, code: str) -> list[tuple[str, int]]:
    """(kind, number of people the viewer may see on it) of every list of a commune."""
    now, out = _now(), []
    with store.engine.connect() as conn:
        for kind in KINDS:
            entries, _ = worklist(store.engine, kind=kind, commune_code=code, now=now, named=False)
            ids = [e["patient_id"] for e in entries]
            out.append((kind, len(who.access.live_visible_patients(conn, ids))))
    return out


def contact_resource(kind: str, code: str, patient_id: str, values: dict) -> dict:
    com = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": WORKLIST_SYSTEM, "code": kind}]}],
        "medium": [{"coding": [{"system": MODE_SYSTEM, "code": MODES[values["mode"]]}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "sent": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sender": {"reference": f"Organization/{commune_station_id(code)}"},
    }
    if values.get("note"):
        com["payload"] = [{"contentString": values["note"]}]
    return com


def build_router(store: ResourceStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def communes_for(who: Viewer) -> list[tuple[str, str]]:
        return [(c, commune(c).full_name) for c in who.communes or []]

    @router.get("/worklists")
    def lists(request: Request, commune_code: str | None = None) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        code = chosen_commune(who, request.query_params.get("commune"))
        if code is None:
            return message(request, who, 403, "worklist_refused")
        return page(
            request,
            "worklists.html",
            who,
            code=code,
            area_name=commune(code).full_name,
            counts=counts(store, who, code),
            communes=communes_for(who),
        )

    def list_page(request, who, kind, code, errors=None, failed=None, status=200) -> Response:
        first = request.query_params.get("first", "0")
        first = int(first) if first.isdigit() else 0
        entries, total, as_of = load_list(store, who, kind, code, first)
        return page(
            request,
            "worklist.html",
            who,
            status,
            kind=kind,
            code=code,
            first=first,
            page_size=PAGE,
            area_name=commune(code).full_name,
            entries=entries,
            total=total,
            as_of=as_of,
            fields=contact_fields(),
            errors=errors or {},
            failed=failed,
        )

    @router.get("/worklists/{kind}")
    def one_list(request: Request, kind: str) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        if kind not in KINDS:
            return message(request, who, 404, "not_found")
        code = chosen_commune(who, request.query_params.get("commune"))
        if code is None:
            return message(request, who, 403, "worklist_refused")
        return list_page(request, who, kind, code)

    @router.post("/worklists/{kind}/contact")
    async def record_contact(request: Request, kind: str) -> Response:
        posted = await posted_form(store, request)
        if isinstance(posted, Response):
            return posted
        who, form = posted
        code = chosen_commune(who, form.get("commune"))
        if kind not in KINDS or code is None:
            return message(request, who, 403, "worklist_refused")
        patient_id = form.get("patient", "")
        t = translator(language(request))
        values, errors = validate(contact_fields(), form, t)
        if errors:
            return list_page(request, who, kind, code, errors, patient_id, 422)
        caller = who.caller
        try:
            with caller.refusals("create", [f"Patient/{patient_id}"]):
                store.create(
                    contact_resource(kind, code, patient_id, values), guard=caller.guard("create")
                )
        except FhirError as exc:
            return message(request, who, exc.status, "forbidden")
        return RedirectResponse(f"/worklists/{kind}?commune={code}#p-{patient_id}", 303)

    return router
