"""Provinces, communes and boundaries of the 2025 map (package data only)."""

import pytest

from songkhoe.places.catalog import (
    Commune,
    UnknownPlace,
    boundaries,
    commune,
    communes,
    province,
    provinces,
)

EXPECTED_CODES = (
    "01 04 08 11 12 14 15 19 20 22 24 25 31 33 37 38 40 42 44 46 "
    "48 51 52 56 66 68 75 79 80 82 86 91 92 96"
).split()


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def _inside(geometry: dict, lon: float, lat: float) -> bool:
    """Even-odd ray casting over every ring, written independently of the catalog's code."""
    crossings = 0
    for ring in _rings(geometry):
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                crossings += 1
    return crossings % 2 == 1


def test_34_provinces_with_the_expected_codes() -> None:
    assert [p.code for p in provinces()] == EXPECTED_CODES
    assert province("24").name == "Bắc Ninh"
    assert province("24").full_name == "Tỉnh Bắc Ninh"
    assert province("33").name == "Hưng Yên"
    assert province("79").name == "Hồ Chí Minh"
    assert province("79").full_name == "Thành phố Hồ Chí Minh"
    assert province("01").name_en == "Hanoi"
    assert all(p.area_km2 > 1000 for p in provinces())


def test_3321_communes_unique_sorted_and_in_a_known_province() -> None:
    all_communes = communes()
    codes = [c.code for c in all_communes]
    assert len(codes) == 3321
    assert len(set(codes)) == 3321
    assert codes == sorted(codes)
    assert all(len(code) == 5 and code.isdigit() for code in codes)
    assert {c.province_code for c in all_communes} == set(EXPECTED_CODES)
    assert sum(len(communes(code)) for code in EXPECTED_CODES) == 3321


def test_communes_of_one_province() -> None:
    bac_ninh = communes("24")
    assert len(bac_ninh) == 99
    assert {c.province_code for c in bac_ninh} == {"24"}
    assert "Phường Từ Sơn" in {c.full_name for c in bac_ninh}


def test_commune_lookup_uses_the_geo_data_codes() -> None:
    tu_son = commune("09367")
    assert isinstance(tu_son, Commune)
    assert (tu_son.name, tu_son.full_name, tu_son.province_code) == (
        "Từ Sơn",
        "Phường Từ Sơn",
        "24",
    )
    assert tu_son.name_en == "Tu Son"
    # 00082 in the 2026 geo data; the vietnam-provinces package has 73 for Cửa Nam
    assert commune("00082").full_name == "Phường Cửa Nam"


def test_unknown_province_names_the_code_and_the_valid_ones() -> None:
    with pytest.raises(UnknownPlace, match=r"'99'.*34 codes: 01, 04, 08"):
        province("99")
    with pytest.raises(UnknownPlace, match="'99'"):
        communes("99")
    assert issubclass(UnknownPlace, ValueError)


def test_unknown_commune_names_the_code() -> None:
    with pytest.raises(UnknownPlace, match="unknown commune code '99999'"):
        commune("99999")
    with pytest.raises(UnknownPlace, match="'9367'"):
        commune("9367")  # codes are strings with leading zeros


def test_returned_lists_are_copies() -> None:
    provinces().clear()
    communes("24").clear()
    assert len(provinces()) == 34
    assert len(communes("24")) == 99


def test_boundaries_match_the_catalog() -> None:
    prov = boundaries("province")
    comm = boundaries("commune")
    assert prov["type"] == comm["type"] == "FeatureCollection"
    assert sorted(f["properties"]["code"] for f in prov["features"]) == EXPECTED_CODES
    assert {f["properties"]["code"] for f in comm["features"]} == {c.code for c in communes()}
    with pytest.raises(ValueError, match="'district'"):
        boundaries("district")


def test_commune_point_lies_in_its_province_bounding_box() -> None:
    bbox = {}
    for feature in boundaries("province")["features"]:
        points = [pt for ring in _rings(feature["geometry"]) for pt in ring]
        lons, lats = [pt[0] for pt in points], [pt[1] for pt in points]
        bbox[feature["properties"]["code"]] = (min(lons), min(lats), max(lons), max(lats))
    outside = []
    for c in communes():
        west, south, east, north = bbox[c.province_code]
        if not (west <= c.lon <= east and south <= c.lat <= north):
            outside.append(c.code)
        assert round(c.lon, 5) == c.lon and round(c.lat, 5) == c.lat
    # Nhơn Châu (Cù Lao Xanh island, 3.6 km²) is dropped from the simplified Gia Lai outline
    assert outside == ["21607"]


def test_points_lie_inside_their_own_polygon() -> None:
    for level, places in (("province", provinces()), ("commune", communes())):
        geometry = {f["properties"]["code"]: f["geometry"] for f in boundaries(level)["features"]}
        outside = [p.code for p in places if not _inside(geometry[p.code], p.lon, p.lat)]
        assert outside == [], level


def test_inside_helper_can_say_no() -> None:
    ba_dinh = next(
        f for f in boundaries("commune")["features"] if f["properties"]["code"] == "00004"
    )
    tu_son = commune("09367")
    assert not _inside(ba_dinh["geometry"], tu_son.lon, tu_son.lat)
    assert _inside(ba_dinh["geometry"], commune("00004").lon, commune("00004").lat)
