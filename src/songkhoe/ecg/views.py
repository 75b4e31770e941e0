"""The ECG pages: a panel on a person's chart listing their recordings, the upload form
(classified on upload), a recording drawn on the standard grid with the AI's rhythm ("AI hỗ trợ
— bác sĩ xác nhận") and the doctor's confirm / correct form, and the doctors' reading list of
recordings not yet read, the most suspicious first. Who may read is `READERS`: doctors at any
level (imaging lets radiologists read films; ECG rhythm is read by doctors and specialists).
Anyone who may write a person's record (a commune health worker for their commune) may upload."""

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from songkhoe.auth.models import Role
from songkhoe.ecg import records, service, texts
from songkhoe.ecg.strip import strip_svg
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.web.pages import (
    FormDataDep,
    Viewer,
    ViewerDep,
    message,
    page,
    page_router,
    refused,
    register_chart_panel,
    register_nav,
)

__all__ = ["router", "texts"]  # texts: registered on import

READERS = frozenset({Role.DOCTOR, Role.SPECIALIST})


def _is_reader(who: Viewer) -> bool:
    return who.principal.role in READERS


def chart_panel(store: ResourceStore, who: Viewer, patient_id: str) -> dict | None:
    if not who.access.sees_people:
        return None
    return {
        "patient_id": patient_id,
        "entries": records.patient_recordings(who.caller, patient_id),
    }


register_nav("/ecg/reading-list", "ecg_nav", lambda access: access.principal.role in READERS, 36)
register_chart_panel("ecg/chart_panel.html", chart_panel, order=36)

router = page_router(prefix="/ecg")


@router.get("/reading-list")
def reading_list(request: Request, who: ViewerDep) -> Response:
    if not _is_reader(who):
        return message(request, who, 403, "ecg_readers_only")
    entries = records.reading_list(who.caller)
    people = records.names(who.caller, [e.patient_id for e in entries])
    return page(request, "ecg/reading_list.html", who, entries=entries, people=people)


@router.get("/upload")
def upload_form(request: Request, who: ViewerDep, patient: str) -> Response:
    try:
        person = who.caller.read("read", "Patient", patient)
    except FhirError as exc:
        return refused(request, who, exc)
    return page(request, "ecg/upload.html", who, patient=person)


@router.post("/upload")
async def upload(request: Request, who: ViewerDep, form: FormDataDep) -> Response:
    patient_id = str(form.get("patient", ""))
    try:
        person = who.caller.read("read", "Patient", patient_id)
    except FhirError as exc:
        return refused(request, who, exc)
    sent = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not sent:
        return page(request, "ecg/upload.html", who, 400, patient=person, error_key="ecg_no_file")
    files = [(f.filename or "", await f.read()) for f in sent]

    def classify() -> str:
        recording = records.read_upload(files)
        return records.store_recording(who.caller, patient_id, recording)

    try:  # reading and classifying take a while: off the event loop
        record_id = await run_in_threadpool(classify)
    except (*service.ECG_ERRORS, records.RecordingRefused) as exc:
        return page(request, "ecg/upload.html", who, 400, patient=person, error=str(exc))
    except FhirError as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/ecg/recordings/{record_id}", 303)


def recording_page(
    request: Request, who: Viewer, record_id: str, error: str | None = None
) -> Response:
    try:
        found = records.record(who.caller, record_id)
    except FhirError as exc:
        return refused(request, who, exc)
    recording = records.signal_of(found.recording)
    proposal = found.proposal
    lead = recording.signal[:, recording.lead_index()]
    label = f"ECG {recording.leads[recording.lead_index()]}, 25 mm/s, 10 mm/mV"
    return page(
        request,
        "ecg/recording.html",
        who,
        400 if error else 200,
        record_id=record_id,
        found=found,
        proposal=proposal,
        lead_name=recording.leads[recording.lead_index()],
        strip=Markup(strip_svg(lead, recording.fs, proposal.r_peaks_s, label)),
        patient=who.caller.store.read("Patient", found.patient_id),
        rhythms=list(records.RHYTHMS),
        can_review=_is_reader(who),
        error=error,
    )


@router.get("/recordings/{record_id}")
def recording(request: Request, who: ViewerDep, record_id: str) -> Response:
    return recording_page(request, who, record_id)


@router.post("/recordings/{record_id}/review")
def review(request: Request, who: ViewerDep, form: FormDataDep, record_id: str) -> Response:
    if not _is_reader(who):
        return message(request, who, 403, "ecg_readers_only")
    try:
        records.review(
            who.caller,
            record_id,
            decision=str(form.get("decision", "")),
            rhythm=str(form.get("rhythm", "")),
            conclusion=str(form.get("conclusion", "")),
        )
    except records.ReviewError as exc:
        return recording_page(request, who, record_id, error=str(exc))
    except FhirError as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/ecg/recordings/{record_id}", 303)
