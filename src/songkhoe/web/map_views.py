"""The disease map: a Leaflet choropleth of a province's communes, or of the 34 provinces, for an
indicator of the registry (`songkhoe.web.map_indicators`), with legend and tooltip. No tile
server needed: the boundaries come from the package (`songkhoe.web.geo`) at /static/geo/,
cacheable; a tile layer goes under them only when SONGKHOE_MAP_TILES_URL names one (its origin
is then allowed in the CSP's img-src).

The page also lists the values as a plain table (the map's text alternative, and what works
without JavaScript). Areas are split into up to five classes at the quintiles of their values;
areas without data are grey. Aggregates only, for callers whose place covers the areas (as the
NCD indicators API decides): the national map for callers who see the whole country.
"""

import numpy as np
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from markupsafe import Markup

from songkhoe.auth.policy import covers
from songkhoe.config import get_settings
from songkhoe.places.catalog import UnknownPlace, commune, communes, province, provinces
from songkhoe.places.facilities import facility
from songkhoe.web import geo, map_indicators
from songkhoe.web.assets import send
from songkhoe.web.i18n import register
from songkhoe.web.pages import (
    StoreDep,
    Viewer,
    ViewerDep,
    message,
    page,
    page_router,
    register_nav,
)

CLASSES = 5
register(
    {
        "disease_map": ("Bản đồ bệnh tật", "Disease map"),
        "indicator": ("Chỉ số", "Indicator"),
        "level": ("Cấp", "Level"),
        "level_commune": ("Xã/phường của tỉnh", "Communes of a province"),
        "level_province": ("34 tỉnh/thành phố", "The 34 provinces"),
        "province": ("Tỉnh/thành phố", "Province"),
        "period": ("Kỳ", "Period"),
        "no_data": ("Không có số liệu", "No data"),
        "map_refused": ("Bản đồ này nằm ngoài địa bàn của bạn.", "This map is outside your area."),
        "bad_period": ("Kỳ không hợp lệ.", "Invalid period."),
        "area": ("Địa bàn", "Area"),
        "value": ("Giá trị", "Value"),
    }
)

# after the domains' own pages (order 40)
register_nav("/map", "disease_map", lambda access: not access.place_based or _wide(access), 45)


def _wide(access) -> bool:
    return access.principal.place.kind != "commune"


def home_province(who: Viewer) -> str:
    """The province of the viewer's place (a map opens there); the first for the whole country."""
    kind, code = who.principal.place.kind, who.principal.place.code
    if code is not None:
        if kind == "province":
            return code
        if kind == "commune":
            return commune(code).province_code
        if kind == "facility":
            return facility(code).province_code
    return provinces()[0].code


def classes(values: dict[str, float | None]) -> tuple[dict[str, int], list[float]]:
    """Class (0..CLASSES-1) of each area with a value, at the quintiles; and the class edges."""
    known = np.array([v for v in values.values() if v is not None], dtype=float)
    if known.size == 0:
        return {}, []
    edges = np.unique(np.quantile(known, np.linspace(0, 1, CLASSES + 1)))
    inner = edges[1:-1]
    out = {
        a: int(np.searchsorted(inner, v, side="right")) for a, v in values.items() if v is not None
    }
    return out, edges.round(1).tolist()


# Public: the boundaries are published reference data (songkhoe.places), the same for everyone.
public = APIRouter(include_in_schema=False)
router = page_router()
GEO_CACHE = {"cache-control": "public, max-age=86400"}


@public.get("/static/geo/communes-{code}.json")
def commune_shapes(request: Request, code: str) -> Response:
    try:
        province(code)
    except UnknownPlace:
        return Response("unknown province", status_code=404, media_type="text/plain")
    return send(request, geo.communes_geojson(code), "application/geo+json", headers=GEO_CACHE)


@public.get("/static/geo/provinces.json")
def province_shapes(request: Request) -> Response:
    return send(request, geo.provinces_geojson(), "application/geo+json", headers=GEO_CACHE)


@router.get("/map")
def disease_map(request: Request, store: StoreDep, who: ViewerDep) -> Response:
    q = request.query_params
    choices = map_indicators.registered()
    chosen = map_indicators.INDICATORS.get(q.get("indicator", "")) or choices[0]
    level = "province" if q.get("level") == "province" else "commune"
    code = q.get("province") or home_province(who)
    try:
        province(code)
    except UnknownPlace:
        return message(request, who, 404, "not_found")
    if level == "province":
        areas = {p.code: [c.code for c in communes(p.code)] for p in provinces()}
        names = {p.code: p.full_name for p in provinces()}
        allowed = who.communes is None
        geo_url = "/static/geo/provinces.json"
    else:
        found = communes(code)
        areas = {c.code: [c.code] for c in found}
        names = {c.code: c.full_name for c in found}
        allowed = covers(who.principal.place, list(areas))
        geo_url = f"/static/geo/communes-{code}.json"
    if not allowed or who.principal.patient_id is not None:
        return message(request, who, 403, "map_refused")
    period = q.get("period") or chosen.default_period(store.engine)
    try:
        values = chosen.compute(store.engine, areas, period)
    except ValueError:
        return message(request, who, 400, "bad_period")
    klass, edges = classes(values)
    data = {a: [values.get(a), klass.get(a)] for a in areas}
    rows = sorted(
        ((names[a], a, values.get(a), klass.get(a)) for a in areas),
        key=lambda r: (r[2] is None, -(r[2] or 0)),
    )
    payload = Markup(
        orjson.dumps({"unit": chosen.unit, "values": data}).decode().replace("<", "\\u003c")
    )
    tiles, tiles_attribution = request.app.state.map_tiles
    return page(
        request,
        "map.html",
        who,
        indicators=choices,
        chosen=chosen,
        level=level,
        province_code=code,
        provinces=provinces(),
        period=period,
        rows=rows,
        edges=edges,
        geo_url=geo_url,
        payload=payload,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
    )


def install(app: FastAPI) -> None:
    """Serve the map and its boundaries, with the tile layer the settings name now (read once,
    like the CSP that allows its origin: `songkhoe.app.create_app`)."""
    settings = get_settings()
    app.state.map_tiles = settings.map_tiles_url, settings.map_tiles_attribution
    app.include_router(public)
    app.include_router(router)
