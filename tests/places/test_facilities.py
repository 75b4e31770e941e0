"""Health facilities: stations, regional, provincial and central hospitals."""

from collections import Counter

import pytest

from songkhoe.places.catalog import UnknownPlace, commune, communes, provinces
from songkhoe.places.facilities import (
    KINDS,
    central_hospitals,
    commune_station_id,
    facilities,
    facility,
)


def test_every_commune_has_exactly_one_station() -> None:
    stations = [f for f in facilities() if f.kind == "commune_station"]
    assert Counter(f.commune_code for f in stations) == Counter(c.code for c in communes())
    station = facility(commune_station_id("09367"))
    assert station.id == "tyt-09367"
    assert station.location_id == "loc-tyt-09367"
    assert station.code == "TYT09367"
    assert station.name == "Trạm y tế phường Từ Sơn"
    assert station.province_code == "24"
    assert facility("tyt-26732").name == "Trạm y tế đặc khu Côn Đảo"


def test_ids_and_codes_are_unique() -> None:
    all_facilities = facilities()
    for attr in ("id", "location_id", "code"):
        values = [getattr(f, attr) for f in all_facilities]
        assert len(values) == len(set(values)), attr
    assert {f.kind for f in all_facilities} == set(KINDS)


def test_every_facility_stands_in_a_real_commune_of_its_province() -> None:
    for f in facilities():
        assert f.commune_code is not None
        assert commune(f.commune_code).province_code == f.province_code, f.id


def test_one_provincial_hospital_and_some_regional_ones_per_province() -> None:
    for p in provinces():
        kinds = Counter(f.kind for f in facilities(p.code))
        assert kinds["provincial_hospital"] == 1, p.code
        assert 2 <= kinds["regional_hospital"] <= 16, p.code
    assert facility("bv-dk-24").name == "Bệnh viện Đa khoa tỉnh Bắc Ninh"
    assert facility("bv-dk-33").name == "Bệnh viện Đa khoa tỉnh Hưng Yên"


@pytest.mark.parametrize(
    ("name", "full_name"),
    [
        ("Trung tâm Y tế Từ Sơn", "Phường Từ Sơn"),
        ("Trung tâm Y tế Thuận Thành", "Phường Thuận Thành"),
        ("Trung tâm Y tế Lục Nam", "Xã Lục Nam"),
        ("Trung tâm Y tế Lục Ngạn", "Phường Chũ"),
        ("Trung tâm Y tế Quỳnh Phụ", "Xã Quỳnh Phụ"),
        ("Trung tâm Y tế Văn Lâm", "Xã Như Quỳnh"),
    ],
)
def test_former_district_medical_centres_sit_in_their_commune(name: str, full_name: str) -> None:
    (found,) = [f for f in facilities() if f.name == name]
    assert found.kind == "regional_hospital"
    assert commune(found.commune_code).full_name == full_name


def test_placeholder_regional_centres_are_named_after_their_commune() -> None:
    for f in facilities("12"):
        if f.kind == "regional_hospital":
            assert f.name == f"Trung tâm Y tế khu vực {commune(f.commune_code).name}"
            assert f.commune_code != facility("bv-dk-12").commune_code


def test_central_hospitals_stand_in_their_own_province() -> None:
    central = {f.id: f for f in central_hospitals()}
    assert central["bv-bach-mai"].name == "Bệnh viện Bạch Mai"
    assert central["bv-bach-mai"].province_code == "01"
    assert central["bv-cho-ray"].province_code == "79"
    assert central["bv-tw-hue"].province_code == "46"
    assert {f.kind for f in central.values()} == {"central_hospital"}
    assert "bv-bach-mai" in {f.id for f in facilities("01")}
    assert "bv-bach-mai" not in {f.id for f in facilities("24")}
    assert set(central) <= {f.id for f in facilities()}


def test_province_filter() -> None:
    bac_ninh = facilities("24")
    assert {f.province_code for f in bac_ninh} == {"24"}
    assert len(bac_ninh) == 99 + 1 + 16
    assert sum(len(facilities(p.code)) for p in provinces()) == len(facilities())


def test_unknown_codes_raise() -> None:
    with pytest.raises(UnknownPlace, match="'99'"):
        facilities("99")
    with pytest.raises(UnknownPlace, match="'tyt-99999'"):
        facility("tyt-99999")
