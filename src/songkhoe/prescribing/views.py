"""Prescription pages: the form with its check results (warnings acknowledged one by one before
signing), the printable prescription (HTML and PDF) and the national e-prescription JSON. Only
prescribers (service.may_prescribe) see the form and sign. The prescription page also shows where
it stands at the national e-prescription system, and lets the doctor who signed it send it (again,
after a rejection) and any prescriber look it up there (songkhoe.prescribing.national)."""

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from songkhoe.clinical.documents import Document, facility_name, person_facts
from songkhoe.config import get_settings
from songkhoe.fhir.outcomes import FhirError
from songkhoe.prescribing import national, service
from songkhoe.prescribing import texts as _texts  # noqa: F401  (registers the interface text)
from songkhoe.prescribing.catalogue import catalogue
from songkhoe.prescribing.codes import TYPES
from songkhoe.prescribing.dosing import InvalidLine, Line, parse_line
from songkhoe.prescribing.export import national_payload
from songkhoe.prescribing.national_client import (
    NationalClient,
    NationalError,
    NotConfigured,
    Refused,
)
from songkhoe.timezones import local_date
from songkhoe.web.pages import FormDep, Viewer, ViewerDep, message, page, page_router
from songkhoe.web.session import form_pairs

LINES = 6


def _lines(form: dict[str, str]) -> list[Line]:
    return [
        parse_line(
            n,
            form[f"drug_{n}"],
            form.get(f"dose_{n}", ""),
            form.get(f"per_day_{n}", ""),
            form.get(f"days_{n}", ""),
            form.get(f"note_{n}", ""),
        )  # fmt: skip
        for n in range(1, LINES + 1)
        if form.get(f"drug_{n}", "").strip()
    ]


def _pdf(prescription: service.Prescription, patient: dict, prescriber: str, site: str) -> bytes:
    rows = [["#", "Thuốc", "Số lượng", "Cách dùng"]]
    for n, r in enumerate(prescription.requests, start=1):
        q = r["dispenseRequest"]["quantity"]
        rows.append([str(n), r["medicationCodeableConcept"]["text"], f"{q['value']} {q['unit']}",
                     r["dosageInstruction"][0]["text"]])  # fmt: skip
    diagnoses = "; ".join(f"{c['coding'][0]['code']} – {c['text']}" for c in prescription.diagnoses)
    advice = (prescription.requests[0].get("note") or [{}])[0].get("text", "")
    return Document(
        issuer=site,
        title="ĐƠN THUỐC",
        reference=f"Mã đơn thuốc: {prescription.code} · {local_date(prescription.authored)}",
        facts=[*person_facts(patient), ("Chẩn đoán", diagnoses)],
        sections=[("Lời dặn", advice)] if advice else [],
        table=rows,
        footer=f"Người kê đơn: {prescriber}",
    ).render((148, 210))  # A5 portrait, in mm


router = page_router()


def form_page(request: Request, who: Viewer, patient: dict, status: int = 200, **context):
    return page(
        request,
        "prescribing/form.html",
        who,
        status,
        patient=patient,
        drugs=catalogue(),
        lines=range(1, LINES + 1),
        **{"form": {}, "issues": [], "error": None, **context},
    )


@router.get("/prescriptions/new")
def new(request: Request, who: ViewerDep, patient: str) -> Response:
    if not service.may_prescribe(who.principal):
        return message(request, who, 403, "rx_not_prescriber")
    try:
        person = who.caller.read("read", "Patient", patient)
    except (FhirError, LookupError):
        return message(request, who, 404, "not_found")
    return form_page(request, who, person)


@router.post("/prescriptions")
async def submit(request: Request, who: ViewerDep, form: FormDep) -> Response:
    if not service.may_prescribe(who.principal):
        return message(request, who, 403, "rx_not_prescriber")
    acknowledged = {v for k, v in await form_pairs(request) if k == "ack"}
    caller = who.caller
    try:
        person = await run_in_threadpool(caller.read, "read", "Patient", form.get("patient", ""))
    except (FhirError, LookupError):
        return message(request, who, 404, "not_found")
    try:
        lines = _lines(form)
        issues = await run_in_threadpool(
            lambda: service.review(
                caller, patient_id=person["id"], lines=lines, now=datetime.now(UTC)
            )
        )
        if form.get("step") != "sign":
            return form_page(request, who, person, form=form, issues=issues, checked=True)
        signed = await run_in_threadpool(
            lambda: service.sign(
                caller, patient_id=person["id"], lines=lines,
                diagnoses=form.get("diagnosis", "").split(","), acknowledged=acknowledged,
                advice=form.get("advice", ""), now=datetime.now(UTC),
            )
        )  # fmt: skip
    except service.Unacknowledged as exc:
        return form_page(request, who, person, 409, form=form, issues=exc.issues,
                         checked=True, error=str(exc))  # fmt: skip
    except (InvalidLine, service.PrescriptionError) as exc:
        return form_page(request, who, person, 400, form=form, error=str(exc))
    except FhirError as exc:  # the record could not be read or written (refused, audited)
        status = exc.status if exc.status in (403, 404, 409) else 400
        return message(request, who, status, "rx_refused")
    return RedirectResponse(f"/prescriptions/{signed.code}", 303)


def opened(
    request: Request, who: Viewer, code: str
) -> tuple[service.Prescription, dict] | Response:
    """The prescription and its patient if the viewer may see them (audited), else 404."""
    try:
        prescription = service.load(who.caller, code)
        patient = who.caller.read("read", "Patient", prescription.patient_id)
    except (FhirError, LookupError):
        return message(request, who, 404, "not_found")
    return prescription, patient


def _national(who: Viewer, prescription: service.Prescription) -> dict:
    """What the page shows and offers of the national system for this viewer."""
    history = national.submissions(who.caller, prescription.code)
    latest = history[0] if history else None
    prescriber = service.may_prescribe(who.principal)
    author = prescription.requests[0]["requester"].get("reference") == (
        f"Practitioner/{who.principal.id}"
    )
    return {
        "configured": bool(get_settings().dtqg_url),
        "history": history,
        "latest": latest,
        "may_send": prescriber
        and author
        and (latest is None or latest.state in (national.REJECTED, national.FAILED)),
        "may_check": prescriber and latest is not None,
        "doctor_code": national.doctor_code_of(who.caller) if prescriber and author else "",
    }


def prescription_page(
    request: Request,
    who: Viewer,
    prescription: service.Prescription,
    patient: dict,
    status: int = 200,
    national_error: str | None = None,
) -> Response:
    return page(
        request,
        "prescribing/print.html",
        who,
        status,
        rx=prescription,
        patient=patient,
        facts=person_facts(patient),
        kind=TYPES[prescription.code[-1]],
        site=facility_name(prescription.facility_id),
        national=_national(who, prescription),
        national_error=national_error,
    )


def shown(
    request: Request, who: Viewer, code: str, status: int = 200, national_error: str | None = None
) -> Response:
    found = opened(request, who, code)
    if isinstance(found, Response):
        return found
    return prescription_page(request, who, *found, status=status, national_error=national_error)


@router.get("/prescriptions/{code}")
def show(request: Request, who: ViewerDep, code: str) -> Response:
    return shown(request, who, code)


async def _at_national(
    request: Request, who: Viewer, code: str, action: Callable[[NationalClient], object]
) -> Response:
    """Run `action` with a client of the national system; back to the prescription page, with
    what went wrong when something did (never the password: no message holds it)."""
    if not service.may_prescribe(who.principal):
        return message(request, who, 403, "rx_not_prescriber")

    def run() -> None:
        with NationalClient.from_settings(get_settings()) as client:
            action(client)

    try:
        await run_in_threadpool(run)
    except FhirError as exc:  # the record could not be read or written (refused, audited)
        if exc.status == 404:
            return message(request, who, 404, "not_found")
        return message(request, who, 403 if exc.status == 403 else 409, "rx_refused")
    except national.NationalStateError as exc:
        status, error = 409, str(exc)
    except NotConfigured as exc:
        status, error = 503, str(exc)
    except Refused as exc:
        status, error = 400, str(exc)
    except NationalError as exc:
        status, error = 502, str(exc)
    else:
        return RedirectResponse(f"/prescriptions/{code}", 303)
    return await run_in_threadpool(shown, request, who, code, status, error)


@router.post("/prescriptions/{code}/national")
async def send_national(request: Request, who: ViewerDep, code: str, form: FormDep) -> Response:
    return await _at_national(
        request, who, code,
        lambda client: national.send(
            who.caller, code, doctor_code=form.get("doctor_code", ""),
            password=form.get("password", ""), client=client, now=datetime.now(UTC),
        ),
    )  # fmt: skip


@router.post("/prescriptions/{code}/national/status")
async def check_national(request: Request, who: ViewerDep, code: str, form: FormDep) -> Response:
    # `form` has no field of its own: asking for it is what checks the CSRF token.
    return await _at_national(
        request, who, code,
        lambda client: national.check(who.caller, code, client=client, now=datetime.now(UTC)),
    )  # fmt: skip


@router.get("/prescriptions/{code}/pdf")
def pdf(request: Request, who: ViewerDep, code: str) -> Response:
    found = opened(request, who, code)
    if isinstance(found, Response):
        return found
    prescription, patient = found
    site = facility_name(prescription.facility_id)
    prescriber = prescription.requests[0]["requester"].get("display", "")
    return Response(
        _pdf(prescription, patient, prescriber, site),
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="don-thuoc-{code}.pdf"'},
    )


@router.get("/prescriptions/{code}/national.json")
def national_json(request: Request, who: ViewerDep, code: str) -> Response:
    found = opened(request, who, code)
    if isinstance(found, Response):
        return found
    prescription, patient = found
    return JSONResponse(national_payload(prescription, patient))
