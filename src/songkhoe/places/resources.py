"""Places as FHIR R4 resources (plain JSON dicts): Location and Organization.

Ids: province Location `prov-{code}`; commune Location `comm-{code}` (partOf the province);
facility Organization `Facility.id` and Location `Facility.location_id` (partOf the commune,
managingOrganization the facility). Boundaries are not embedded (they stay package data, joined by
code; see `catalog.boundaries`). Facility Locations carry no position: the data gives only the
commune, not the site. Resource shapes follow https://hl7.org/fhir/R4/location.html and
https://hl7.org/fhir/R4/organization.html.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from songkhoe.fhir.systems import (
    COMMUNE_CODE,
    FACILITY_CODE,
    LOCATION_PHYSICAL_TYPE,
    ORGANIZATION_TYPE,
    PROVINCE_CODE,
)
from songkhoe.places.catalog import Commune, Province, commune, communes, province, provinces
from songkhoe.places.facilities import Facility, facilities


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    """A fresh CodeableConcept (fresh so that callers may mutate what they get)."""
    return {"coding": [{"system": system, "code": code, "display": display}]}


def province_location_id(code: str) -> str:
    """The Location id of a province."""
    return f"prov-{code}"


def commune_location_id(code: str) -> str:
    """The Location id of a commune."""
    return f"comm-{code}"


def place_resources() -> Iterator[dict[str, Any]]:
    """Every place resource, parents before children: 34 province Locations, 3,321 commune
    Locations, then for each facility its Organization followed by its Location."""
    for p in provinces():
        yield _jurisdiction(
            province_location_id(p.code), PROVINCE_CODE, p, [p.full_name, p.name_en]
        )
    for c in communes():
        location = _jurisdiction(
            commune_location_id(c.code), COMMUNE_CODE, c, [c.full_name, c.name_en]
        )
        location["partOf"] = {"reference": f"Location/{province_location_id(c.province_code)}"}
        yield location
    for f in facilities():
        yield {
            "resourceType": "Organization",
            "id": f.id,
            "identifier": [{"system": FACILITY_CODE, "value": f.code}],
            "active": True,
            "type": [_concept(ORGANIZATION_TYPE, "prov", "Healthcare Provider")],
            "name": f.name,
            "address": [_address(f)],
        }
        location: dict[str, Any] = {
            "resourceType": "Location",
            "id": f.location_id,
            "identifier": [{"system": FACILITY_CODE, "value": f.code}],
            "status": "active",
            "name": f.name,
            "mode": "instance",
            "physicalType": _concept(LOCATION_PHYSICAL_TYPE, "bu", "Building"),
            "address": _address(f),
            "managingOrganization": {"reference": f"Organization/{f.id}"},
        }
        if f.commune_code is not None:
            location["partOf"] = {"reference": f"Location/{commune_location_id(f.commune_code)}"}
        yield location


def _jurisdiction(
    location_id: str, system: str, place: Province | Commune, aliases: list[str]
) -> dict[str, Any]:
    """The Location of a province or commune: an administrative area with its interior point."""
    return {
        "resourceType": "Location",
        "id": location_id,
        "identifier": [{"system": system, "value": place.code}],
        "status": "active",
        "name": place.name,
        "alias": aliases,
        "mode": "instance",
        "physicalType": _concept(LOCATION_PHYSICAL_TYPE, "jdn", "Jurisdiction"),
        "position": {"longitude": place.lon, "latitude": place.lat},
    }


def _address(f: Facility) -> dict[str, Any]:
    address: dict[str, Any] = {"use": "work", "type": "physical"}
    if f.commune_code is not None:
        address["city"] = commune(f.commune_code).full_name
    address["state"] = province(f.province_code).full_name
    address["country"] = "VN"
    return address
