"""Places as FHIR R4 Location and Organization resources."""

from collections import Counter
from typing import Any

import orjson
import pytest

from songkhoe.fhir.systems import (
    COMMUNE_CODE,
    FACILITY_CODE,
    LOCATION_PHYSICAL_TYPE,
    ORGANIZATION_TYPE,
    PROVINCE_CODE,
)
from songkhoe.places.facilities import facilities
from songkhoe.places.resources import place_resources


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return list(place_resources())


@pytest.fixture(scope="module")
def by_key(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


def _references(resource: dict[str, Any]) -> list[str]:
    return [resource[k]["reference"] for k in ("partOf", "managingOrganization") if k in resource]


def test_counts(resources: list[dict[str, Any]]) -> None:
    n = len(facilities())
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds == {"Location": 34 + 3321 + n, "Organization": n}


def test_ids_unique_across_all_resources(resources: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in resources]
    assert len(ids) == len(set(ids))


def test_references_resolve_to_earlier_resources(resources: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for r in resources:
        for ref in _references(r):
            assert ref in seen, f"{r['id']} -> {ref}"
        seen.add(f"{r['resourceType']}/{r['id']}")


def test_province_location(by_key: dict[str, dict[str, Any]]) -> None:
    r = by_key["Location/prov-24"]
    assert r["identifier"] == [{"system": PROVINCE_CODE, "value": "24"}]
    assert (r["name"], r["status"], r["mode"]) == ("Bắc Ninh", "active", "instance")
    assert r["alias"] == ["Tỉnh Bắc Ninh", "Bac Ninh"]
    assert r["physicalType"]["coding"][0] == {
        "system": LOCATION_PHYSICAL_TYPE,
        "code": "jdn",
        "display": "Jurisdiction",
    }
    assert 105 < r["position"]["longitude"] < 107 and 20.5 < r["position"]["latitude"] < 22
    assert "partOf" not in r


def test_commune_location(by_key: dict[str, dict[str, Any]]) -> None:
    r = by_key["Location/comm-09367"]
    assert r["identifier"] == [{"system": COMMUNE_CODE, "value": "09367"}]
    assert r["name"] == "Từ Sơn"
    assert r["alias"] == ["Phường Từ Sơn", "Tu Son"]
    assert r["partOf"] == {"reference": "Location/prov-24"}
    assert r["physicalType"]["coding"][0]["code"] == "jdn"
    assert set(r["position"]) == {"longitude", "latitude"}


def test_station_organization_and_location(by_key: dict[str, dict[str, Any]]) -> None:
    org = by_key["Organization/tyt-09367"]
    assert org["identifier"] == [{"system": FACILITY_CODE, "value": "TYT09367"}]
    assert org["active"] is True
    assert org["type"][0]["coding"][0]["system"] == ORGANIZATION_TYPE
    assert org["type"][0]["coding"][0]["code"] == "prov"
    assert org["name"] == "Trạm y tế phường Từ Sơn"
    address = org["address"][0]
    assert (address["city"], address["state"], address["country"]) == (
        "Phường Từ Sơn",
        "Tỉnh Bắc Ninh",
        "VN",
    )
    loc = by_key["Location/loc-tyt-09367"]
    assert loc["partOf"] == {"reference": "Location/comm-09367"}
    assert loc["managingOrganization"] == {"reference": "Organization/tyt-09367"}
    assert loc["physicalType"]["coding"][0]["code"] == "bu"


def test_hospital_resources(by_key: dict[str, dict[str, Any]]) -> None:
    org = by_key["Organization/bv-bach-mai"]
    assert org["name"] == "Bệnh viện Bạch Mai"
    assert org["address"][0]["state"] == "Thành phố Hà Nội"
    loc = by_key["Location/loc-bv-bach-mai"]
    assert loc["managingOrganization"] == {"reference": "Organization/bv-bach-mai"}
    assert loc["partOf"]["reference"].startswith("Location/comm-")


def test_no_boundaries_embedded_and_json_serialisable(resources: list[dict[str, Any]]) -> None:
    blob = orjson.dumps(resources)
    assert b"location-boundary-geojson" not in blob  # the R4 boundary extension
    assert b"coordinates" not in blob
    assert len(blob) < 12_000_000


def test_each_call_builds_fresh_dicts() -> None:
    first = next(place_resources())
    first["physicalType"]["coding"].clear()
    first["name"] = "changed"
    again = next(place_resources())
    assert again["name"] == "Hà Nội"
    assert again["physicalType"]["coding"][0]["code"] == "jdn"
