"""Surveillance pages under /surveillance: open alerts and their review, the case-report form,
a province's weekly counts (server-side SVG) with the 4-week forecast and its back-test; a panel
of open alerts for officers on the home page and the dashboard, a link from a person's chart to
report a case, and the weekly incidence of each disease on the disease map."""

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

import numpy as np
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import Engine

from songkhoe.auth.policy import covers
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore
from songkhoe.places.catalog import UnknownPlace, commune, communes, province, provinces
from songkhoe.surveillance import aggregation as agg
from songkhoe.surveillance import service
from songkhoe.surveillance.alerts import signal_of, state_of
from songkhoe.surveillance.api import alert_summary
from songkhoe.surveillance.cases import CLASSIFICATIONS
from songkhoe.surveillance.diseases import DISEASES
from songkhoe.surveillance.forecast import Forecast, ForecastError
from songkhoe.timezones import local_time
from songkhoe.web import map_indicators
from songkhoe.web.i18n import register
from songkhoe.web.pages import (
    FormDep,
    StoreDep,
    Viewer,
    ViewerDep,
    message,
    page,
    page_router,
    register_chart_panel,
    register_dashboard_panel,
    register_home_panel,
    register_nav,
)

register({
    "surv_nav": ("Giám sát dịch", "Surveillance"),
    "surv_alerts": ("Cảnh báo dịch", "Outbreak alerts"),
    "surv_open_alerts": ("Cảnh báo đang chờ xem xét", "Alerts awaiting review"),
    "surv_no_alerts": ("Không có cảnh báo.", "No alerts."),
    "surv_state": ("Trạng thái", "State"),
    "surv_state_open": ("Chờ xem xét", "Open"),
    "surv_state_confirmed": ("Đã xác nhận", "Confirmed"),
    "surv_state_dismissed": ("Đã bỏ qua", "Dismissed"),
    "surv_state_all": ("Tất cả", "All"),
    "surv_disease": ("Bệnh", "Disease"),
    "surv_commune": ("Xã/phường", "Commune"),
    "surv_week": ("Tuần", "Week"),
    "surv_cases": ("Số ca", "Cases"),
    "surv_threshold": ("Ngưỡng", "Threshold"),
    "surv_method": ("Phương pháp", "Method"),
    "surv_recent": ("Số ca các tuần gần nhất", "Cases in recent weeks"),
    "surv_population": ("Dân số đăng ký", "Registered population"),
    "surv_history": ("Lịch sử trạng thái", "Status history"),
    "surv_version": ("Phiên bản", "Version"),
    "surv_review": ("Xem xét cảnh báo", "Review the alert"),
    "surv_confirm": ("Xác nhận và giao xử lý", "Confirm and assign a response"),
    "surv_dismiss": ("Bỏ qua", "Dismiss"),
    "surv_owner": ("Đơn vị xử lý", "Assigned to"),
    "surv_note": ("Ghi chú", "Note"),
    "surv_reason": ("Lý do bỏ qua (bắt buộc)", "Reason for dismissing (required)"),
    "surv_task": ("Nhiệm vụ điều tra, xử lý ổ dịch", "Outbreak response task"),
    "surv_report_case": ("Báo cáo ca bệnh truyền nhiễm", "Report a notifiable disease case"),
    "surv_patient": ("Mã người bệnh", "Patient id"),
    "surv_icd10": ("Mã ICD-10 (không bắt buộc)", "ICD-10 code (optional)"),
    "surv_onset": ("Ngày khởi phát", "Date of onset"),
    "surv_case_commune": (
        "Xã/phường nơi ở khi khởi phát (để trống: theo địa chỉ)",
        "Commune of residence at onset (empty: the home address)",
    ),
    "surv_classification": ("Phân loại ca bệnh", "Case classification"),
    "surv_class_suspected": ("Nghi ngờ", "Suspected"),
    "surv_class_probable": ("Có thể", "Probable"),
    "surv_class_confirmed": ("Xác định (xét nghiệm)", "Confirmed (laboratory)"),
    "surv_submit": ("Gửi báo cáo", "Submit the report"),
    "surv_case_saved": ("Đã ghi nhận báo cáo ca bệnh.", "The case report was recorded."),
    "surv_deadline": (
        "Thời hạn báo cáo kể từ khi chẩn đoán (Thông tư 54/2015/TT-BYT)",
        "Reporting deadline from diagnosis (Circular 54/2015/TT-BYT)",
    ),
    "surv_deadline_group": (
        "bệnh nhóm %s: trong vòng %d giờ", "group %s diseases: within %d hours"
    ),
    "surv_unplaced": (
        "%s báo cáo ca bệnh không xếp được vào xã và tuần nào (thiếu xã, ngày khởi phát hoặc mã "
        "bệnh) nên không được tính.",
        "%s case reports could not be placed (no commune, onset date or disease code) and are "
        "not counted.",
    ),
    "surv_weekly": ("Số ca theo tuần", "Weekly cases"),
    "surv_forecast": ("Dự báo 4 tuần tới", "Forecast, next 4 weeks"),
    "surv_mean": ("Dự báo", "Forecast"),
    "surv_interval80": ("Khoảng dự báo 80%", "80% interval"),
    "surv_interval95": ("Khoảng dự báo 95%", "95% interval"),
    "surv_backtest": ("Kiểm định hồi cứu (26 tuần)", "Back-test (26 weeks)"),
    "surv_model": ("Mô hình", "Model"),
    "surv_baseline": ("Cùng kỳ năm trước", "Seasonal naive"),
    "surv_coverage": ("Tỷ lệ nằm trong khoảng", "Interval coverage"),
    "surv_no_data": ("Chưa đủ số liệu.", "Not enough data."),
    "surv_by_province": ("Theo tỉnh", "By province"),
    "surv_expired": ("Biểu mẫu đã hết hạn.", "The form has expired."),
    "surv_not_found": ("Không tìm thấy cảnh báo.", "Alert not found."),
    "surv_officers_only": (
        "Trang này dành cho bác sĩ và cán bộ quản lý tuyến huyện, tỉnh.",
        "This page is for doctors and district and provincial officers.",
    ),
    "surv_reporters_only": (
        "Báo cáo ca bệnh do nhân viên y tế xã và bác sĩ thực hiện.",
        "Cases are reported by commune health workers and doctors.",
    ),
    "surv_map_note": ("/100.000 dân đăng ký, tuần", "/100,000 registered, week"),
})  # fmt: skip
for _key, _d in DISEASES.items():
    register({f"surv_d_{_key}": (_d.name_vi, _d.name_en)})
    register({f"surv_map_{_key}": (f"{_d.name_vi}: ca mới/100.000 dân, theo tuần",
                                   f"{_d.name_en}: new cases per 100,000, weekly")})  # fmt: skip

CHART_WEEKS = 104
BACKTEST_WEEKS = 26


def _deadlines() -> list[tuple[str, int]]:
    """(group, hours to report a case) of the catalogue's groups (`Disease.report_within_hours`)."""
    return sorted({(d.group, d.report_within_hours) for d in DISEASES.values()})


def _officer(who: Viewer) -> bool:
    p = who.principal
    return p.kind == "user" and p.role in service.OFFICERS


def _reporter(who: Viewer) -> bool:
    p = who.principal
    return p.kind == "user" and p.role in service.REPORTERS


def _my_provinces(who: Viewer) -> list[str]:
    """The provinces wholly inside the viewer's place."""
    return [
        p.code
        for p in provinces()
        if covers(who.principal.place, [c.code for c in communes(p.code)])
    ]


register_nav(
    "/surveillance",
    "surv_nav",
    lambda access: access.principal.role in service.OFFICERS | service.REPORTERS,
    order=40,
)


# --- the chart ---------------------------------------------------------------------------------

W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 220, 36, 8, 10, 24


def weekly_chart(
    weeks: np.ndarray,
    counts: np.ndarray,
    future: Sequence[date],
    fc: Forecast | None,
    alarms: set[date],
    label: str,
) -> Markup:
    """Bars of weekly counts, alarm weeks marked, then the forecast's mean line and its 80% and
    95% bands, as inline SVG (presentation attributes and classes only, for the strict CSP)."""
    days = [d.item() for d in weeks] + (list(future) if fc is not None else [])
    if not days:
        return Markup("")
    top = max([float(counts.max(initial=0))] + ([float(fc.upper95.max())] if fc else []) + [1.0])
    step = (W - LEFT - RIGHT) / len(days)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + (1 - v / top) * (H - TOP - BOTTOM)

    parts = [f'<svg class="surv-chart" viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="{escape(label)}"><title>{escape(label)}</title>']  # fmt: skip
    for tick in (0, top / 2, top):
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/><text class="axis" x="{LEFT - 4}" '
                     f'y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.0f}</text>')  # fmt: skip
    for i, (day, value) in enumerate(zip(days, counts.tolist(), strict=False)):
        css = "bar alarm" if day in alarms else "bar"
        parts.append(f'<rect class="{css}" x="{x(i):.1f}" y="{y(value):.1f}" '
                     f'width="{max(step - 1, 1):.1f}" height="{y(0) - y(value):.1f}"><title>'
                     f'{agg.week_label(day)}: {value:.0f}</title></rect>')  # fmt: skip
    if fc is not None:
        n = counts.size
        for level, low, high in (("95", fc.lower95, fc.upper95), ("80", fc.lower80, fc.upper80)):
            upper = [f"{x(n + h) + step / 2:.1f},{y(v):.1f}" for h, v in enumerate(high)]
            lower = [f"{x(n + h) + step / 2:.1f},{y(v):.1f}" for h, v in enumerate(low)]
            parts.append(f'<polygon class="band{level}" points="{" ".join(upper + lower[::-1])}"/>')
        mean = " ".join(f"{x(n + h) + step / 2:.1f},{y(v):.1f}" for h, v in enumerate(fc.mean))
        parts.append(f'<polyline class="mean" points="{mean}"/>')
    for i in (0, len(days) - 1):
        anchor = "start" if i == 0 else "end"
        parts.append(f'<text class="axis" x="{x(i) + (step if i else 0):.1f}" y="{H - 6}" '
                     f'text-anchor="{anchor}">{agg.week_label(days[i])}</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


# --- panels and the map ------------------------------------------------------------------------


def _home_panel(store: ResourceStore, who: Viewer) -> dict | None:
    if not _officer(who):
        return None
    alerts = service.list_alerts(store, who.principal, state="open")
    if not alerts:
        return None
    return {"total": len(alerts), "alerts": [_row(a) for a in alerts[:5]]}


def _chart_panel(_store: ResourceStore, who: Viewer, patient_id: str) -> dict | None:
    return {"patient_id": patient_id} if _reporter(who) else None


register_home_panel("surveillance/home_panel.html", _home_panel, order=30)
register_dashboard_panel("surveillance/home_panel.html", _home_panel, order=30)
register_chart_panel("surveillance/chart_panel.html", _chart_panel, order=60)


def _incidence(key: str):
    def compute(engine: Engine, areas, period: str) -> dict[str, float | None]:
        return agg.incidence_by_area(engine, areas=areas, disease=key, week=agg.parse_week(period))

    return compute


for _order, _key in enumerate(DISEASES):
    map_indicators.register(
        map_indicators.MapIndicator(
            f"incidence_{_key}", f"surv_map_{_key}", "/100.000", "week", _incidence(_key),
            lambda _engine: agg.week_label(agg.last_complete_week()), order=50 + _order,
        )
    )  # fmt: skip


# --- pages -------------------------------------------------------------------------------------


def _row(alert: dict) -> dict:
    row = alert_summary(alert)
    c = commune(row["commune"])
    return {**row, "commune_name": c.full_name, "province": c.province_code}


router = page_router()


@router.get("/surveillance")
def index(request: Request, store: StoreDep, who: ViewerDep, state: str = "open") -> Response:
    if not (_officer(who) or _reporter(who)):
        return message(request, who, 403, "surv_officers_only")
    state = state if state in ("open", "confirmed", "dismissed", "all") else "open"
    alerts = []
    if _officer(who):
        found = service.list_alerts(store, who.principal, state=None if state == "all" else state)
        alerts = [_row(a) for a in found]
    provinces_ = [province(p) for p in _my_provinces(who)] if _officer(who) else []
    return page(request, "surveillance/index.html", who, alerts=alerts, state=state,
                officer=_officer(who), reporter=_reporter(who), provinces=provinces_,
                diseases=DISEASES)  # fmt: skip


def _alert_page(
    request: Request,
    store: ResourceStore,
    who: Viewer,
    alert_id: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """An alert with its weekly counts, status history and response Task, and the review form."""
    if not _officer(who):
        return message(request, who, 403, "surv_officers_only")
    try:
        history = service.alert_history(store, who.principal, alert_id)
    except FhirError:
        return message(request, who, 404, "surv_not_found")
    alert = history[-1]
    s = signal_of(alert)
    weeks = np.arange(
        np.datetime64(s.week - timedelta(weeks=len(s.recent) - 1)), np.datetime64(s.week) + 1, 7
    )
    chart = weekly_chart(weeks, np.array(s.recent, float), [], None, {s.week},
                         f"{s.disease} {s.commune}")  # fmt: skip
    return page(request, "surveillance/alert.html", who, status, row=_row(alert),
                alert=alert, chart=chart,
                history=[(v, state_of(v), local_time(v["meta"]["lastUpdated"]))
                         for v in history],
                owners=service.owner_choices(s.commune),
                task=service.alert_task(store, alert), error=error)  # fmt: skip


@router.get("/surveillance/alerts/{alert_id}")
def alert_page(request: Request, store: StoreDep, who: ViewerDep, alert_id: str) -> Response:
    return _alert_page(request, store, who, alert_id)


@router.post("/surveillance/alerts/{alert_id}")
def review(
    request: Request, store: StoreDep, who: ViewerDep, form: FormDep, alert_id: str
) -> Response:
    action = form.get("action", "")
    note = form.get("reason") if action == "dismiss" else form.get("note")
    try:
        service.review_alert(
            who.caller, alert_id, action=action, note=note, owner=form.get("owner")
        )
    except FhirError as exc:
        if exc.status in (403, 404):
            return message(request, who, exc.status, "surv_not_found")
        return _alert_page(request, store, who, alert_id, str(exc), exc.status)
    return RedirectResponse(f"/surveillance/alerts/{alert_id}", 303)


def _case_form(
    request: Request, who: Viewer, values: dict, error: str | None = None,
    saved: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    return page(request, "surveillance/case_form.html", who, status, values=values,
                error=error, saved=saved, diseases=DISEASES, deadlines=_deadlines(),
                classifications=list(CLASSIFICATIONS))  # fmt: skip


@router.get("/surveillance/cases/new")
def case_form(
    request: Request, who: ViewerDep, patient: str = "", saved: str | None = None
) -> Response:
    if not _reporter(who):
        return message(request, who, 403, "surv_reporters_only")
    values = {"patient": patient, "onset": agg.today().isoformat()}
    return _case_form(request, who, values, saved=saved)


@router.post("/surveillance/cases")
def post_case(request: Request, who: ViewerDep, form: FormDep) -> Response:
    if not _reporter(who):
        return message(request, who, 403, "surv_reporters_only")
    payload = {k: v for k, v in form.items() if k != "csrf" and v.strip()}
    try:
        created = service.report_case(who.caller, payload)
    except FhirError as exc:
        return _case_form(request, who, form, error=str(exc), status=exc.status)
    return RedirectResponse(f"/surveillance/cases/new?saved={created['id']}", 303)


@router.get("/surveillance/province/{code}")
def province_page(
    request: Request, store: StoreDep, who: ViewerDep, code: str, disease: str = "dengue"
) -> Response:
    try:
        place = province(code)
        service.require_officer(who.principal, resource_type="Condition")
        service.require_province(who.principal, code)
    except UnknownPlace:
        return message(request, who, 404, "not_found")
    except FhirError:
        return message(request, who, 403, "forbidden")
    if disease not in DISEASES:
        return message(request, who, 404, "not_found")
    result = error = None
    try:
        result = service.province_forecast(
            store, province_code=code, disease=disease, backtest_weeks=BACKTEST_WEEKS
        )
    except (agg.AggregationError, ForecastError) as exc:
        error = str(exc)
    chart = Markup("")
    if result is not None:
        alarms = service.alarm_weeks(store, who.principal, province_code=code, disease=disease)
        chart = weekly_chart(
            result.weeks[-CHART_WEEKS:], result.counts[-CHART_WEEKS:], result.future,
            result.forecast, alarms, f"{DISEASES[disease].name_vi} {place.full_name}",
        )  # fmt: skip
    return page(request, "surveillance/province.html", who, prov=place, disease=disease,
                diseases=DISEASES, result=result, chart=chart, error=error,
                week_label=agg.week_label)  # fmt: skip
