"""The imaging pages: the reading worklist (most suspicious first) for doctors and radiologists,
a study with its film, the AI heatmap and scores ("AI hỗ trợ — bác sĩ quyết định") and the review
form, the upload form, the files behind them (served through the access policy and audit), and
a panel listing a person's X-rays on their chart."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from songkhoe.auth.models import Role
from songkhoe.config import get_settings
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.imaging import service
from songkhoe.imaging.deid import ExportRefused
from songkhoe.imaging.ingest import InvalidImage
from songkhoe.imaging.media import MediaFiles
from songkhoe.imaging.worker import start_thread
from songkhoe.web.i18n import register
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

READERS = frozenset({Role.DOCTOR, Role.RADIOLOGIST, Role.ADMIN})

register(
    {
        "img_nav": ("X-quang", "X-rays"),
        "img_worklist": ("Danh sách đọc phim X-quang ngực", "Chest X-ray reading list"),
        "img_worklist_hint": (
            "Phim nghi ngờ nhất lên đầu. AI hỗ trợ — bác sĩ quyết định.",
            "Most suspicious films first. AI supports — the doctor decides.",
        ),
        "img_ai_label": ("AI hỗ trợ — bác sĩ quyết định", "AI supports — the doctor decides"),
        "img_suspicion": ("Mức nghi ngờ (AI)", "Suspicion (AI)"),
        "img_top_finding": ("Dấu hiệu nổi bật (AI)", "Top finding (AI)"),
        "img_person": ("Người bệnh", "Patient"),
        "img_taken": ("Ngày chụp", "Taken"),
        "img_open": ("Đọc phim", "Read"),
        "img_positive": ("Nghi bất thường", "Suspected abnormal"),
        "img_negative": ("Không nghi ngờ", "Not suspected"),
        "img_none_waiting": ("Không có phim nào chờ đọc.", "No film is waiting to be read."),
        "img_unread": ("Phim AI chưa đọc xong", "Films the AI has not read yet"),
        "img_status_requested": ("Đang chờ AI", "Waiting for the AI"),
        "img_status_in-progress": ("AI đang đọc", "The AI is reading"),
        "img_status_failed": ("AI không đọc được", "The AI could not read it"),
        "img_demo": (
            "Mô hình minh hoạ — không dùng cho lâm sàng",
            "Demonstration model — not for clinical use",
        ),
        "img_study": ("Phim X-quang ngực", "Chest X-ray"),
        "img_show_heatmap": ("Xem vùng AI chú ý", "Show the AI heatmap"),
        "img_show_film": ("Xem phim gốc", "Show the film"),
        "img_waiting_ai": (
            "AI đang đọc phim này; trang sẽ tự tải lại.",
            "The AI is reading this film; the page reloads by itself.",
        ),
        "img_scores": ("Điểm từng dấu hiệu (AI)", "Score per finding (AI)"),
        "img_operating_point": ("Ngưỡng", "Operating point"),
        "img_region": ("Vùng dấu hiệu nổi bật (pixel)", "Top finding's region (pixels)"),
        "img_model": ("Mô hình", "Model"),
        "img_review": ("Kết luận của bác sĩ", "The doctor's reading"),
        "img_decision": ("Quyết định về kết quả AI", "Decision on the AI's reading"),
        "img_confirm": ("Đồng ý với AI", "Confirm the AI's findings"),
        "img_reject": ("Không đồng ý: phim bình thường", "Reject: the film is normal"),
        "img_edit": ("Sửa dấu hiệu", "Edit the findings"),
        "img_findings": ("Dấu hiệu (khi sửa)", "Findings (when editing)"),
        "img_conclusion": ("Kết luận", "Conclusion"),
        "img_save_review": ("Lưu kết luận", "Save the reading"),
        "img_reviewed_by": ("Bác sĩ đọc", "Read by"),
        "img_decision_confirm": ("đồng ý với AI", "confirmed the AI"),
        "img_decision_reject": ("không đồng ý với AI", "rejected the AI"),
        "img_decision_edit": ("đã sửa dấu hiệu", "edited the findings"),
        "img_follow_up": (
            "Đã gửi yêu cầu theo dõi cho trạm y tế xã.",
            "A follow-up task was sent to the commune health station.",
        ),
        "img_export": ("Tải DICOM đã ẩn danh", "Download the de-identified DICOM"),
        "img_upload": ("Tải phim X-quang lên", "Upload a chest X-ray"),
        "img_file": ("Tệp phim (DICOM, PNG hoặc JPEG)", "Film file (DICOM, PNG or JPEG)"),
        "img_send": ("Tải lên", "Upload"),
        "img_no_file": ("Hãy chọn một tệp phim.", "Choose a film file."),
        "img_too_large": ("Tệp quá lớn.", "The file is too large."),
        "img_max_size": ("Tối đa", "At most"),
        "img_burned_in": (
            "Phim có chữ in trên ảnh (BurnedInAnnotation = YES), có thể lộ danh tính: "
            "không xuất bản ẩn danh được.",
            "The film has text burned into its pixels (BurnedInAnnotation YES) that may "
            "identify the person: it cannot be exported de-identified.",
        ),
        "img_panel": ("Phim X-quang ngực", "Chest X-rays"),
        "img_report_preliminary": ("Chờ bác sĩ đọc", "Waiting for a doctor"),
        "img_report_final": ("Bác sĩ đã đọc", "Read by a doctor"),
        "img_report_amended": ("Bác sĩ đã sửa kết luận", "Reading amended"),
        "img_readers_only": (
            "Trang này dành cho bác sĩ và bác sĩ chẩn đoán hình ảnh.",
            "This page is for doctors and radiologists.",
        ),
    }
)


def media_files() -> MediaFiles:
    """The film files, under SONGKHOE_MEDIA_DIR as set now."""
    return MediaFiles(get_settings().media_dir)


def max_file_bytes() -> int:
    """The largest film an upload takes: SONGKHOE_IMAGING_MAX_FILE_MB, and never more than
    the request body limit lets through."""
    settings = get_settings()
    return int(min(settings.imaging_max_file_mb, settings.max_body_mb) * 1024 * 1024)


def _limits() -> dict:
    """The upload form's size limit, in bytes and in MB."""
    limit = max_file_bytes()
    return {"max_bytes": limit, "max_mb": f"{limit / 1048576:g}"}


def _is_reader(who: Viewer) -> bool:
    return who.principal.role in READERS


def chart_panel(store: ResourceStore, who: Viewer, patient_id: str) -> dict | None:
    if not who.access.sees_people:
        return None
    return {
        "patient_id": patient_id,
        "films": service.patient_studies(who.caller, patient_id),
    }


register_nav("/imaging", "img_nav", lambda access: access.principal.role in READERS, order=35)
register_chart_panel("imaging/chart_panel.html", chart_panel, order=35)

router = page_router(prefix="/imaging")


@asynccontextmanager
async def worker_thread(store: ResourceStore) -> AsyncIterator[None]:
    """SONGKHOE_IMAGING_WORKER=thread: the AI worker runs in a thread while the app does."""
    settings, stop = get_settings(), None
    if settings.imaging_worker == "thread":
        files = MediaFiles(settings.media_dir)
        stop = start_thread(
            store, files, model_choice=settings.imaging_model, model_dir=settings.model_dir
        )
    try:
        yield
    finally:
        if stop is not None:
            stop.set()


def install(app: FastAPI, store: ResourceStore) -> None:
    """Serve the imaging pages on `app`, and run the AI worker with it when so configured
    (`worker_thread`)."""
    app.include_router(router)
    # a router without routes: FastAPI's public way to add to a made app's lifespan
    app.include_router(APIRouter(lifespan=lambda _app: worker_thread(store)))


@router.get("")
def worklist(request: Request, who: ViewerDep) -> Response:
    if not _is_reader(who):
        return message(request, who, 403, "img_readers_only")
    entries = service.worklist(who.caller)
    unread = service.unread(who.caller)
    return page(request, "imaging/worklist.html", who, entries=entries, unread=unread)


@router.get("/upload")
def upload_form(request: Request, who: ViewerDep, patient: str) -> Response:
    try:
        person = who.caller.read("read", "Patient", patient)
    except FhirError as exc:
        return refused(request, who, exc)
    return page(request, "imaging/upload.html", who, patient=person, **_limits())


@router.post("/upload")
async def upload(request: Request, who: ViewerDep, form: FormDataDep) -> Response:
    patient_id = str(form.get("patient", ""))
    try:
        person = who.caller.read("read", "Patient", patient_id)
    except FhirError as exc:
        return refused(request, who, exc)
    film = form.get("film")
    limits = _limits()

    def bad_upload(**error) -> Response:
        return page(request, "imaging/upload.html", who, 400, patient=person, **limits, **error)

    if not isinstance(film, UploadFile):
        return bad_upload(error_key="img_no_file")
    if (film.size or 0) > limits["max_bytes"]:
        return bad_upload(error_key="img_too_large")
    data = await film.read()
    if not data:
        return bad_upload(error_key="img_no_file")
    try:  # decoding a film takes a while: off the event loop
        study_id = await run_in_threadpool(
            service.upload,
            who.caller,
            media_files(),
            patient_id=patient_id,
            filename=film.filename or "film",
            data=data,
        )
    except InvalidImage as exc:
        return bad_upload(error=str(exc))
    except FhirError as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/imaging/studies/{study_id}", 303)


def study_page(
    request: Request, who: Viewer, study_id: str, overlay: bool = False, error: str | None = None
) -> Response:
    try:
        details = service.study_details(who.caller, study_id)
    except FhirError as exc:
        return refused(request, who, exc)
    found = details.found
    return page(
        request,
        "imaging/study.html",
        who,
        400 if error else 200,
        study_id=study_id,
        found=found,
        patient=details.patient,
        scores=details.scores,
        components=details.components,
        ai_findings=details.ai_findings,
        overlay=overlay and "heatmap" in found,
        can_review=_is_reader(who) and "report" in found,
        demo=details.demo,
        error=error,
    )


@router.get("/studies/{study_id}")
def study(request: Request, who: ViewerDep, study_id: str, overlay: int = 0) -> Response:
    return study_page(request, who, study_id, overlay=bool(overlay))


@router.post("/studies/{study_id}/review")
def review(request: Request, who: ViewerDep, form: FormDataDep, study_id: str) -> Response:
    if not _is_reader(who):
        return message(request, who, 403, "img_readers_only")
    try:
        service.review(
            who.caller,
            study_id=study_id,
            decision=str(form.get("decision", "")),
            findings=[str(f) for f in form.getlist("finding")],
            conclusion=str(form.get("conclusion", "")),
        )
    except service.ReviewError as exc:
        return study_page(request, who, study_id, error=str(exc))
    except FhirError as exc:
        return refused(request, who, exc)
    return RedirectResponse(f"/imaging/studies/{study_id}", 303)


@router.get("/media/{media_id}")
def media_file(who: ViewerDep, media_id: str) -> Response:
    try:
        data, content_type = service.media_file(who.caller, media_files(), media_id)
    except FhirError as exc:
        return Response(status_code=exc.status)
    return Response(data, media_type=content_type)


@router.get("/studies/{study_id}/export.dcm")
def export(request: Request, who: ViewerDep, study_id: str) -> Response:
    try:
        data = service.deidentified_dicom(who.caller, media_files(), study_id)
    except FhirError as exc:
        return refused(request, who, exc)
    except ExportRefused:
        return message(request, who, 409, "img_burned_in")
    if data is None:
        return message(request, who, 404, "not_found")
    disposition = f'attachment; filename="{study_id}.dcm"'
    return Response(
        data, media_type="application/dicom", headers={"content-disposition": disposition}
    )
