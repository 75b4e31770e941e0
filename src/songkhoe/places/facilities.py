"""Health facilities: one station per commune, and regional, provincial and central hospitals.

Since the 2025 reform there are no districts: the former district hospitals and medical centres
became regional medical centres (Trung tâm Y tế khu vực). What is listed here:

- `commune_station`: one Trạm y tế per commune, all 3,321, named "Trạm y tế phường Từ Sơn".
- `provincial_hospital`: one general hospital per province (`data/hospitals.json`). Real names
  where known (e.g. Bệnh viện Đa khoa tỉnh Bắc Ninh, Bệnh viện Đa khoa Xanh Pôn); "Bệnh viện Đa
  khoa thành phố Huế" is a placeholder name. Each is placed in a ward of the province's main city;
  the exact ward is approximate.
- `regional_hospital`: for Bắc Ninh (24) and Hưng Yên (33), the medical centres of the former
  districts (Trung tâm Y tế Từ Sơn, Lục Ngạn, Quỳnh Phụ, ...), placed in the commune that carries
  the district's name or holds its former seat (Lục Ngạn -> Phường Chũ, Văn Lâm -> Xã Như Quỳnh,
  Kim Động -> Xã Lương Bằng). For every other province, three **placeholders**, "Trung tâm Y tế
  khu vực {ward}", in the three largest wards (by area) other than the provincial hospital's,
  topped up with the largest communes where a province has fewer wards.
- `central_hospital`: hospitals of the Ministry of Health (Bạch Mai, Việt Đức, Chợ Rẫy, Trung
  ương Huế, ...), each with the province it stands in. Wards follow the street address where known
  (Bạch Mai -> Phường Kim Liên, Chợ Rẫy -> Phường Chợ Lớn) and are approximate otherwise.

Codes are project codes, not the BHYT KCB facility codes: stations "TYT" + commune code,
regional "TTYT" + commune code, provincial "BVDK" + province code, central "BVTW-" + short name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import orjson

from songkhoe.places.catalog import Commune, UnknownPlace, commune, communes, province

KINDS = ("central_hospital", "provincial_hospital", "regional_hospital", "commune_station")
_PLACEHOLDER_REGIONAL = 3
_STATION = "tyt-"  # the Organization id of a commune's station: "tyt-" + the commune code


@dataclass(frozen=True, slots=True)
class Facility:
    """A health facility. `id` is its FHIR Organization id, `location_id` its Location id."""

    id: str
    location_id: str
    code: str
    name: str
    kind: str  # one of KINDS
    province_code: str
    commune_code: str | None


def facilities(province_code: str | None = None) -> list[Facility]:
    """All facilities, or those standing in one province (central hospitals included where they
    stand). Sorted by province, then kind (central, provincial, regional, station), then code.
    Raises `UnknownPlace` for a bad province code."""
    if province_code is None:
        return list(_all())
    province(province_code)
    return [f for f in _all() if f.province_code == province_code]


def facility(facility_id: str) -> Facility:
    """The facility with this Organization id (e.g. "tyt-09367", "bv-bach-mai")."""
    found = _by_id().get(facility_id)
    if found is None:
        raise UnknownPlace(f"unknown facility id {facility_id!r}")
    return found


def commune_station_id(commune_code: str) -> str:
    """The Organization id of a commune's health station."""
    return f"{_STATION}{commune_code}"


def station_communes(station_ids: Iterable[str] | None) -> list[str] | None:
    """The commune codes of the commune health stations among these Organization ids (as
    `commune_station_id` makes them), in order; None (the whole country) stays None."""
    if station_ids is None:
        return None
    return [s.removeprefix(_STATION) for s in station_ids if s.startswith(_STATION)]


def central_hospitals() -> list[Facility]:
    """The central (Ministry of Health) hospitals."""
    return [f for f in _all() if f.kind == "central_hospital"]


def _hospital(slug: str, code: str, name: str, kind: str, commune_code: str) -> Facility:
    return Facility(
        id=f"bv-{slug}",
        location_id=f"loc-bv-{slug}",
        code=code,
        name=name,
        kind=kind,
        province_code=commune(commune_code).province_code,
        commune_code=commune_code,
    )


def _station(c: Commune) -> Facility:
    return Facility(
        id=commune_station_id(c.code),
        location_id=f"loc-{commune_station_id(c.code)}",
        code=f"TYT{c.code}",
        name=f"Trạm y tế {c.full_name[0].lower()}{c.full_name[1:]}",  # "Trạm y tế phường Từ Sơn"
        kind="commune_station",
        province_code=c.province_code,
        commune_code=c.code,
    )


def _regional(name: str, commune_code: str) -> Facility:
    return _hospital(
        f"ttyt-{commune_code}", f"TTYT{commune_code}", name, "regional_hospital", commune_code
    )


def _placeholder_regional(province_code: str, exclude: set[str]) -> list[Facility]:
    candidates = [c for c in communes(province_code) if c.code not in exclude]
    candidates.sort(key=lambda c: (not c.full_name.startswith("Phường"), -c.area_km2, c.code))
    return [
        _regional(f"Trung tâm Y tế khu vực {c.name}", c.code)
        for c in candidates[:_PLACEHOLDER_REGIONAL]
    ]


@cache
def _all() -> tuple[Facility, ...]:
    data = orjson.loads(
        resources.files(__package__).joinpath("data", "hospitals.json").read_bytes()
    )
    out = [
        _hospital(h["slug"], h["code"], h["name"], "central_hospital", h["commune_code"])
        for h in data["central"]
    ]
    for h in data["provincial"]:
        pc = commune(h["commune_code"]).province_code
        out.append(
            _hospital(f"dk-{pc}", f"BVDK{pc}", h["name"], "provincial_hospital", h["commune_code"])
        )
    out += [_regional(h["name"], h["commune_code"]) for h in data["regional"]]
    curated = {f.province_code for f in out if f.kind == "regional_hospital"}
    provincial_site = {
        f.province_code: f.commune_code for f in out if f.kind == "provincial_hospital"
    }
    for pc, site in provincial_site.items():
        if pc not in curated:
            out += _placeholder_regional(pc, {site})
    out += [_station(c) for c in communes()]
    rank = {kind: i for i, kind in enumerate(KINDS)}
    return tuple(sorted(out, key=lambda f: (f.province_code, rank[f.kind], f.code)))


@cache
def _by_id() -> dict[str, Facility]:
    return {f.id: f for f in _all()}
