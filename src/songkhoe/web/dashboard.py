"""The manager's dashboard: the NCD indicators (`songkhoe.ncd.indicators`, Simple.org
definitions) of a province or commune for a month, by commune, with the 12-month trend of the
main rates as SVG; and the panels other domains register for it (surveillance alerts, ...)
through `songkhoe.web.pages.register_dashboard_panel`. Aggregates only, for callers whose place
covers the place (as the NCD indicators API decides)."""

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response

from songkhoe.auth.policy import covers
from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd import indicators as ncd
from songkhoe.ncd import projections as proj
from songkhoe.places.catalog import UnknownPlace, commune, communes, province
from songkhoe.web import svg
from songkhoe.web.i18n import language, register, translator
from songkhoe.web.map_indicators import projections_month
from songkhoe.web.map_views import home_province
from songkhoe.web.pages import (
    Viewer,
    dashboard_panels,
    message,
    page,
    register_nav,
    to_login,
    viewer,
)

TREND_MONTHS = 12
SHOWN = (
    "checkup_coverage_pct",
    "htn_controlled_pct",
    "htn_uncontrolled_pct",
    "htn_missed_visit_pct",
    "dm_bs_below_126_pct",
)
register(
    {
        "dashboard": ("Bảng điều khiển", "Dashboard"),
        "month": ("Tháng", "Month"),
        "trend_12m": ("Xu hướng 12 tháng", "12-month trend"),
        "by_commune": ("Theo xã/phường", "By commune"),
        "checkup_coverage_pct": ("Khám định kỳ 12 tháng", "Check-up coverage"),
        "htn_controlled_pct": ("THA kiểm soát", "BP controlled"),
        "htn_uncontrolled_pct": ("THA chưa kiểm soát", "BP uncontrolled"),
        "htn_missed_visit_pct": ("THA bỏ khám 3 tháng", "HTN missed visits"),
        "dm_bs_below_126_pct": ("ĐTĐ đường huyết < 126", "Diabetes FBS < 126"),
        "htn_registered": ("Người THA đã đăng ký", "HTN registered"),
        "adults": ("Người lớn", "Adults"),
    }
)

register_nav("/dashboard", "dashboard", lambda access: True, order=30)


def place_of(who: Viewer, asked: str | None) -> tuple[str, str]:
    """(kind, code) the dashboard shows: a commune worker's commune, else a province."""
    place = who.principal.place
    if place.kind == "commune" and not asked:
        return "commune", place.code
    return "province", asked or home_province(who)


def months_back(month: str, count: int) -> list[str]:
    last = np.datetime64(month, "M")
    return [str(last - i) for i in range(count - 1, -1, -1)]


def build_router(store: ResourceStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard")
    def dashboard(request: Request) -> Response:
        who = viewer(store, request)
        if who is None:
            return to_login()
        q = request.query_params
        kind, code = place_of(who, q.get("province"))
        try:
            covered = (
                [c.code for c in communes(code)] if kind == "province" else [commune(code).code]
            )
            name = (province(code) if kind == "province" else commune(code)).full_name
        except UnknownPlace:
            return message(request, who, 404, "not_found")
        if not covers(who.principal.place, covered) or who.principal.patient_id is not None:
            return message(request, who, 403, "map_refused")
        month = q.get("month") or projections_month(store.engine)
        try:
            ncd.parse_month(month)
        except ncd.InvalidMonth:
            return message(request, who, 400, "bad_period")
        with store.engine.connect() as conn:
            cohort = ncd.load(conn, covered)
            as_of = proj.refreshed_as_of(conn)
        rows = ncd.table(cohort, month, place=(kind, code), by_commune=kind == "province")
        months = months_back(month, TREND_MONTHS)
        history = [ncd.table(cohort, m, place=(kind, code), by_commune=False)[0] for m in months]
        t = translator(language(request))
        trend = svg.trend(
            t("trend_12m"),
            [
                svg.Series(
                    t(rate),
                    [
                        (np.datetime64(m, "D").astype(object), h[rate])
                        for m, h in zip(months, history, strict=True)
                        if h[rate] is not None
                    ],
                    f"s{i + 1}",
                )
                for i, rate in enumerate(SHOWN[:3])
            ],
            unit="%",
        )
        sparks = {rate: svg.sparkline([h[rate] for h in history], t(rate)) for rate in SHOWN}
        return page(
            request,
            "dashboard.html",
            who,
            kind=kind,
            code=code,
            area_name=name,
            month=month,
            rows=rows,
            shown=SHOWN,
            trend=trend,
            sparks=sparks,
            as_of=as_of,
            panels=dashboard_panels(store, who),
        )

    return router
