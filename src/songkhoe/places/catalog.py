"""The 34 provinces and 3,321 communes of Vietnam's 2025 administrative map.

Source: thanglequoc/vietnamese-provinces-database @cd58063 (MIT), boundaries derived from
sapnhap.bando.com.vn, simplified; shipped gzip-compressed under `data/` (see `data/SOURCE.md`).

The shipped GeoJSON is the source of truth for codes and names. It is current as of Resolution
30/2026/QH16 (in force 30/04/2026); the `vietnam-provinces` package (2025.10.1) predates that and
has different codes for 115 communes, so it is not used here: codes must join the boundaries.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import orjson

_FILES = {"province": "provinces_2025.json.gz", "commune": "communes_2025.json.gz"}


@dataclass(frozen=True, slots=True)
class Province:
    """A province or centrally-governed city (tỉnh / thành phố trực thuộc trung ương).

    `lon`, `lat`: a representative interior point (see `_interior_point`), 5 decimals.
    """

    code: str  # 2-digit GSO code
    name: str  # "Bắc Ninh"
    name_en: str  # "Bac Ninh"
    full_name: str  # "Tỉnh Bắc Ninh"
    area_km2: float
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune, ward or special zone (xã / phường / đặc khu).

    `lon`, `lat`: a representative interior point (see `_interior_point`), 5 decimals.
    """

    code: str  # 5-digit GSO code
    name: str  # "Từ Sơn"
    full_name: str  # "Phường Từ Sơn"
    province_code: str
    area_km2: float
    lon: float
    lat: float
    name_en: str  # "Tu Son"


class UnknownPlace(ValueError):
    """A province or commune code that is not on the 2025 map."""


def provinces() -> list[Province]:
    """All 34 provinces, sorted by code."""
    return list(_provinces())


def province(code: str) -> Province:
    """The province with this 2-digit code; raises `UnknownPlace`."""
    found = _provinces_by_code().get(code)
    if found is None:
        codes = ", ".join(_provinces_by_code())
        raise UnknownPlace(
            f"unknown province code {code!r} (expected one of the 34 codes: {codes})"
        )
    return found


def communes(province_code: str | None = None) -> list[Commune]:
    """All 3,321 communes, or those of one province; sorted by code. Raises `UnknownPlace`."""
    if province_code is None:
        return list(_communes())
    province(province_code)
    return list(_communes_by_province().get(province_code, ()))


def commune(code: str) -> Commune:
    """The commune with this 5-digit code; raises `UnknownPlace`."""
    found = _communes_by_code().get(code)
    if found is None:
        raise UnknownPlace(
            f"unknown commune code {code!r} (expected the 5-digit code of one of the "
            f"{len(_communes_by_code()):,} communes of the 2025 map, e.g. '00004')"
        )
    return found


def boundaries(level: str) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of `level` ("province" or "commune") as shipped.

    Features carry `code`, `name`, `nameEn`, `fullName`, `areaKm2`, `provinceCode`. The dict is
    cached and shared between callers: treat it as read-only.
    """
    if level not in _FILES:
        raise ValueError(f"unknown boundary level {level!r} (expected 'province' or 'commune')")
    return _load(level)


@cache
def _load(level: str) -> dict[str, Any]:
    raw = resources.files(__package__).joinpath("data", _FILES[level]).read_bytes()
    return orjson.loads(gzip.decompress(raw))


@cache
def _provinces() -> tuple[Province, ...]:
    out = []
    for feature in _load("province")["features"]:
        p = feature["properties"]
        lon, lat = _interior_point(feature["geometry"])
        out.append(
            Province(
                code=p["code"],
                name=p["name"],
                name_en=p["nameEn"],
                full_name=p["fullName"],
                area_km2=float(p["areaKm2"]),
                lon=lon,
                lat=lat,
            )
        )
    return tuple(sorted(out, key=lambda x: x.code))


@cache
def _provinces_by_code() -> dict[str, Province]:
    return {p.code: p for p in _provinces()}


@cache
def _communes() -> tuple[Commune, ...]:
    out = []
    for feature in _load("commune")["features"]:
        p = feature["properties"]
        lon, lat = _interior_point(feature["geometry"])
        out.append(
            Commune(
                code=p["code"],
                name=p["name"],
                full_name=p["fullName"],
                province_code=p["provinceCode"],
                area_km2=float(p["areaKm2"]),
                lon=lon,
                lat=lat,
                name_en=p["nameEn"],
            )
        )
    return tuple(sorted(out, key=lambda x: x.code))


@cache
def _communes_by_code() -> dict[str, Commune]:
    return {c.code: c for c in _communes()}


@cache
def _communes_by_province() -> dict[str, tuple[Commune, ...]]:
    grouped: dict[str, list[Commune]] = {}
    for c in _communes():
        grouped.setdefault(c.province_code, []).append(c)
    return {code: tuple(items) for code, items in grouped.items()}


def _ring_area_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """Signed area and centroid of a closed ring (shoelace formula), in degrees."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2.0
    if area == 0.0:
        return 0.0, float(x.mean()), float(y.mean())
    cx = ((x[:-1] + x[1:]) * cross).sum() / (6.0 * area)
    cy = ((y[:-1] + y[1:]) * cross).sum() / (6.0 * area)
    return float(area), float(cx), float(cy)


def _crossings(rings: list[np.ndarray], lat: float) -> np.ndarray:
    """Sorted longitudes where the horizontal line y = lat crosses the rings' edges."""
    xs = []
    for ring in rings:
        x0, y0, x1, y1 = ring[:-1, 0], ring[:-1, 1], ring[1:, 0], ring[1:, 1]
        hit = (y0 > lat) != (y1 > lat)
        xs.append(x0[hit] + (lat - y0[hit]) * (x1[hit] - x0[hit]) / (y1[hit] - y0[hit]))
    return np.sort(np.concatenate(xs))


def _interior_point(geometry: dict[str, Any]) -> tuple[float, float]:
    """A point inside the largest polygon of a (Multi)Polygon, as (lon, lat), 5 decimals.

    The area centroid of the largest polygon when it falls inside it; otherwise (a concave or
    holed shape) the midpoint of the widest inside stretch of the horizontal line through the
    centroid. Point-in-polygon uses the even-odd rule over the crossings of that line.
    """
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    best: tuple[float, list[np.ndarray], float, float] | None = None
    for polygon in polygons:
        rings = [np.asarray(r, dtype=float) for r in polygon]
        area, cx, cy = _ring_area_centroid(rings[0])
        if best is None or abs(area) > best[0]:
            best = (abs(area), rings, cx, cy)
    assert best is not None, "empty geometry"
    _, rings, cx, cy = best
    ys = rings[0][:, 1]
    if not ys.min() < cy < ys.max():
        cy = float((ys.min() + ys.max()) / 2)
    xs = _crossings(rings, cy)
    if len(xs) < 2:  # the line only grazes a vertex: nudge it
        cy += 1e-7
        xs = _crossings(rings, cy)
    starts, ends = xs[0::2], xs[1::2]
    inside = ((starts <= cx) & (cx <= ends)).any()
    if not inside:
        widest = int(np.argmax(ends - starts))
        cx = float((starts[widest] + ends[widest]) / 2)
    return round(cx, 5), round(cy, 5)
