"""The ethnic group and occupation of a Patient, as the Ministry of Health's VN Core FHIR IG puts
them (draft `hl7.fhir.vn.core` at hl7vn/vn-core-ig 8e6b6e0, CC0-1.0 per its ig.ini).

- Ethnic group (dân tộc): the extension `extension-race` (a CodeableConcept bound to the ValueSet
  vn-core-race), coded in `CodeSystem/vn-core-race`, the General Statistics Office's list of the
  54 ethnic groups (01 Kinh … 54 Rơ măm) plus 55 foreigners and 99 unknown:
  `data/vn_core_race.csv` is that CodeSystem's concepts unchanged. It is also the code of the
  claims XML's MA_DANTOC. (The IG's `extension-ethic` with `CodeSystem/vn-core-ethic` is, despite
  its name, the religions list of the GSO; it is not used here.)
- Occupation (nghề nghiệp): the extension `extension-occupation` (a CodeableConcept bound to
  vn-core-occupation), coded in `CodeSystem/vn-core-occupation-4069`, the occupations by social
  group that the IG attributes to "QĐ số 4069/2011/QĐ-BYT" (the medical-record forms are Quyết
  định 4069/2001/QĐ-BYT; the IG's year is kept as written), 13 codes:
  `data/vn_core_occupation_4069.csv` is that CodeSystem's concepts unchanged. The IG's other
  occupation CodeSystem (vn-core-occupation) has no concepts in this version.
- Address: the extension `extension-administrative-address` has four sub-extensions, `state`,
  `city`, `district` and `ward`, each a CodeableConcept of `CodeSystem/vn-core-administrative-
  address` (no concepts in this version): the three-level map before the 2025 reform. Since
  2025-07-01 there are two levels (Nghị quyết 202/2025/QH15: 34 provinces; communes and wards
  under them, codes as Resolution 30/2026/QH16 lists them in `songkhoe.places`), so the platform
  writes `state` = the province and `ward` = the commune or ward, with the current 2-digit and
  5-digit GSO codes, and no `city` or `district` (see ARCHITECTURE.md); the project's own
  commune extension (`songkhoe.fhir.systems.EXT_COMMUNE`) stays beside it.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

from songkhoe.fhir.systems import VN_CORE

EXT_ETHNIC_GROUP = f"{VN_CORE}/StructureDefinition/extension-race"
EXT_OCCUPATION = f"{VN_CORE}/StructureDefinition/extension-occupation"
EXT_ADMINISTRATIVE_ADDRESS = f"{VN_CORE}/StructureDefinition/extension-administrative-address"
ADMINISTRATIVE_ADDRESS_SYSTEM = f"{VN_CORE}/CodeSystem/vn-core-administrative-address"
ETHNIC_GROUP_SYSTEM = f"{VN_CORE}/CodeSystem/vn-core-race"
OCCUPATION_SYSTEM = f"{VN_CORE}/CodeSystem/vn-core-occupation-4069"
KINH = "01"


@cache
def _codes(name: str) -> dict[str, str]:
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return {row["code"]: row["display"] for row in csv.DictReader(io.StringIO(text))}


def ethnic_groups() -> dict[str, str]:
    """Code -> Vietnamese name of each ethnic group (01 Kinh, 02 Tày, …, 99 Không rõ)."""
    return _codes("vn_core_race.csv")


def occupations() -> dict[str, str]:
    """Code -> Vietnamese name of each occupation (01 … 12, 99 Khác)."""
    return _codes("vn_core_occupation_4069.csv")


def _extension(url: str, system: str, code: str, names: dict[str, str], what: str) -> dict:
    if code not in names:
        raise ValueError(f"unknown {what} code {code!r} (VN Core {system.rsplit('/', 1)[-1]})")
    coding = {"system": system, "code": code, "display": names[code]}
    return {"url": url, "valueCodeableConcept": {"coding": [coding]}}


def ethnic_group_extension(code: str) -> dict:
    """The Patient extension of an ethnic group; ValueError for a code not in the list."""
    return _extension(EXT_ETHNIC_GROUP, ETHNIC_GROUP_SYSTEM, code, ethnic_groups(), "ethnic group")


def occupation_extension(code: str) -> dict:
    """The Patient extension of an occupation; ValueError for a code not in the list."""
    return _extension(EXT_OCCUPATION, OCCUPATION_SYSTEM, code, occupations(), "occupation")


def administrative_address_extension(
    province_code: str, province_name: str, commune_code: str, commune_name: str
) -> dict:
    """The Address extension of a place in the two-level map of 2025: `state` and `ward`."""

    def level(name: str, code: str, display: str) -> dict:
        coding = {"system": ADMINISTRATIVE_ADDRESS_SYSTEM, "code": code, "display": display}
        return {"url": name, "valueCodeableConcept": {"coding": [coding]}}

    return {
        "url": EXT_ADMINISTRATIVE_ADDRESS,
        "extension": [
            level("state", province_code, province_name),
            level("ward", commune_code, commune_name),
        ],
    }


def extension_code(resource: dict, url: str) -> str | None:
    """The code of a resource's VN Core extension `url` (one of the two above), None if absent."""
    for extension in resource.get("extension", ()):
        if extension.get("url") == url:
            for coding in extension.get("valueCodeableConcept", {}).get("coding", ()):
                return str(coding.get("code")) if coding.get("code") else None
    return None
