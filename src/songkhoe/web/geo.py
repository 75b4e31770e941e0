"""Boundaries for the disease map, served by the app from the package's GeoJSON
(`songkhoe.places.catalog.boundaries`), simplified further for the screen.

Each ring is simplified with the Ramer-Douglas-Peucker algorithm (Douglas & Peucker,
Cartographica 1973;10:112-22) at a tolerance in degrees (communes 0.002° ~ 200 m, provinces
0.01° ~ 1 km: about a pixel at the zoom each map opens at); coordinates are rounded to 4 decimals
(~10 m); islets and holes smaller than twice the tolerance are dropped (a polygon keeps at least
its outer ring as a triangle); only `code` and `name` are kept. The bytes are built once per
process and sent gzip-compressed.
"""

from functools import cache

import numpy as np
import orjson

from songkhoe.places.catalog import boundaries

COMMUNE_TOLERANCE, PROVINCE_TOLERANCE = 0.002, 0.01


def _keep(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Boolean mask of the points Douglas-Peucker keeps (first and last always)."""
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = points[first], points[last]
        inner = points[first + 1 : last]
        d = b - a
        norm = np.hypot(*d)
        if norm == 0:
            dist = np.hypot(*(inner - a).T)
        else:
            dist = np.abs(d[0] * (inner[:, 1] - a[1]) - d[1] * (inner[:, 0] - a[0])) / norm
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            mid = first + 1 + i
            keep[mid] = True
            stack += [(first, mid), (mid, last)]
    return keep


def simplify_ring(ring: list, tolerance: float, outer: bool) -> list | None:
    """A closed ring simplified and rounded; None when a hole collapses (an outer ring keeps at
    least 4 positions, the closing one included)."""
    points = np.asarray(ring, dtype=float)
    kept = points[_keep(points, tolerance)]
    if len(kept) < 4:
        if not outer:
            return None
        step = max(len(points) // 3, 1)
        kept = np.vstack([points[0:-1:step][:3], points[:1]])
    rounded = np.round(kept, 4)
    return rounded.tolist()


def simplify_geometry(geometry: dict, tolerance: float) -> dict:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    sizes = [np.ptp(np.asarray(p[0], dtype=float), axis=0).max() for p in polygons]
    largest = int(np.argmax(sizes))
    out = []
    for i, polygon in enumerate(polygons):
        if i != largest and sizes[i] < 2 * tolerance:
            continue  # an islet smaller than the tolerance
        rings = [simplify_ring(polygon[0], tolerance, True)]
        rings += [r for r in (simplify_ring(h, tolerance, False) for h in polygon[1:]) if r]
        out.append(rings)
    if len(out) == 1:
        return {"type": "Polygon", "coordinates": out[0]}
    return {"type": "MultiPolygon", "coordinates": out}


def _collection(features: list[dict], tolerance: float) -> bytes:
    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "code": f["properties"]["code"],
                        "name": f["properties"]["fullName"],
                    },
                    "geometry": simplify_geometry(f["geometry"], tolerance),
                }
                for f in features
            ],
        }
    )


@cache
def communes_geojson(province_code: str) -> bytes:
    """The communes of a province (a valid 2-digit code) as simplified GeoJSON bytes."""
    features = [
        f
        for f in boundaries("commune")["features"]
        if f["properties"]["provinceCode"] == province_code
    ]
    return _collection(features, COMMUNE_TOLERANCE)


@cache
def provinces_geojson() -> bytes:
    """The 34 provinces as simplified GeoJSON bytes."""
    return _collection(boundaries("province")["features"], PROVINCE_TOLERANCE)
