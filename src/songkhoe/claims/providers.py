"""The facility that claims, on its FHIR Organization: its BHYT facility code (mã cơ sở KBCB)
and its care level.

The code is an Organization identifier of system `coverage.BHYT_FACILITY`: 5 characters, the
2-digit code of the province before the 2025 merger (`songkhoe.places.former_provinces`) and 3
digits (QĐ 130/QĐ-BYT, XML1 MA_CSKCB and MA_DKBD, "gồm có 05 ký tự"). The project does not hold
the codes that BHXH issues, so `synthetic_code` makes one per facility of the place catalogue: the
province's code (every 2025 province code is one of the former codes) and the facility's place in
`places.facilities(province)` (1-based, so the provincial hospital is usually 001). Such a code
carries the extension `EXT_SYNTHETIC` (valueBoolean true) on its Identifier and must never reach
the gateway as if it were issued.

The level is an Organization.type coding of system `CARE_LEVEL` (`visit.CareLevel`: commune,
district, provincial, central), from the kind of facility the place catalogue lists (a commune
station, a regional medical centre, a provincial or central hospital).
"""

from collections.abc import Iterable
from functools import cache

from songkhoe.claims.coverage import BHYT_FACILITY, FACILITY_PATTERN
from songkhoe.claims.visit import CareLevel
from songkhoe.fhir.queries import live
from songkhoe.fhir.store import ResourceStore
from songkhoe.fhir.systems import BASE
from songkhoe.places.facilities import Facility, facilities, facility
from songkhoe.places.former_provinces import FORMER_PROVINCE_CODES
from songkhoe.places.resources import place_resources

CARE_LEVEL = f"{BASE}/CodeSystem/care-level"
EXT_SYNTHETIC = f"{BASE}/StructureDefinition/synthetic-identifier"
LEVEL_OF_KIND = {
    "commune_station": CareLevel.COMMUNE,
    "regional_hospital": CareLevel.DISTRICT,
    "provincial_hospital": CareLevel.PROVINCIAL,
    "central_hospital": CareLevel.CENTRAL,
}
_MAX_PER_PROVINCE = 999


def synthetic_code(facility_id: str) -> str:
    """The synthetic BHYT code of a facility of the place catalogue (see the module doc);
    UnknownPlace for an id the catalogue lacks."""
    return _synthetic_codes(facility(facility_id).province_code)[facility_id]


@cache
def _synthetic_codes(province_code: str) -> dict[str, str]:
    listed = facilities(province_code)
    if len(listed) > _MAX_PER_PROVINCE:
        raise ValueError(f"province {province_code}: more than {_MAX_PER_PROVINCE} facilities")
    return {f.id: f"{province_code}{i:03d}" for i, f in enumerate(listed, start=1)}


def bhyt_identifier(code: str, *, synthetic: bool) -> dict:
    """The Identifier of a BHYT facility code; ValueError for one that is not 5 characters of a
    former province."""
    if not FACILITY_PATTERN.fullmatch(code) or code[:2] not in FORMER_PROVINCE_CODES:
        raise ValueError(
            f"BHYT facility code must be 5 characters, the first 2 a pre-2025 province: {code!r}"
        )
    identifier: dict = {"system": BHYT_FACILITY, "value": code}
    if synthetic:
        identifier["extension"] = [{"url": EXT_SYNTHETIC, "valueBoolean": True}]
    return identifier


def with_claims_identity(
    organization: dict, code: str, level: CareLevel, *, synthetic: bool
) -> dict:
    """A copy of an Organization with this BHYT code and care level (replacing any it had)."""
    identifiers = [i for i in organization.get("identifier", ()) if i["system"] != BHYT_FACILITY]
    types = [t for t in organization.get("type", ())
             if not any(c.get("system") == CARE_LEVEL for c in t.get("coding", ()))]  # fmt: skip
    level_concept = {"coding": [{"system": CARE_LEVEL, "code": level.value}]}
    return organization | {
        "identifier": [*identifiers, bhyt_identifier(code, synthetic=synthetic)],
        "type": [*types, level_concept],
    }


def facility_code(organization: dict) -> str | None:
    """The BHYT code an Organization holds, None if none."""
    return next(
        (i["value"] for i in organization.get("identifier", ()) if i["system"] == BHYT_FACILITY),
        None,
    )


def is_synthetic(organization: dict) -> bool:
    """Whether the Organization's BHYT code is a synthetic one."""
    return any(
        e["url"] == EXT_SYNTHETIC and e.get("valueBoolean")
        for i in organization.get("identifier", ())
        if i["system"] == BHYT_FACILITY
        for e in i.get("extension", ())
    )


def care_level(organization: dict) -> CareLevel | None:
    """The care level an Organization holds, None if none."""
    for concept in organization.get("type", ()):
        for coding in concept.get("coding", ()):
            if coding.get("system") == CARE_LEVEL:
                return CareLevel(coding["code"])
    return None


def register_synthetic(store: ResourceStore, sites: Iterable[Facility]) -> int:
    """Give these facilities' Organizations their synthetic BHYT code and level, creating an
    Organization the store lacks as `songkhoe places load` would; those that already hold a
    BHYT code are left as they are. Returns how many Organizations were written."""
    wanted = {site.id: site for site in sites}
    with store.engine.connect() as conn:
        present = {o["id"]: o for o in conn.execute(live("Organization", list(wanted))).scalars()}
    missing = set(wanted) - set(present)
    if missing:
        present |= {
            r["id"]: r
            for r in place_resources()
            if r["resourceType"] == "Organization" and r["id"] in missing
        }
    written = 0
    with store.transaction() as writer:
        for site_id, organization in present.items():
            if facility_code(organization) is not None:
                continue
            site = wanted[site_id]
            updated = with_claims_identity(
                organization, synthetic_code(site.id), LEVEL_OF_KIND[site.kind], synthetic=True
            )
            writer.update({k: v for k, v in updated.items() if k != "meta"})
            written += 1
    return written
