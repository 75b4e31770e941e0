"""The VN Core ethnic-group and occupation extensions (terminology.vn_core) against the IG's
CodeSystems in ../shared/data/fhir/vn-core-ig."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from songkhoe.terminology import vn_core

IG = Path(__file__).parents[2].parent / "shared" / "data" / "fhir" / "vn-core-ig" / "input"
FHIR = {"f": "http://hl7.org/fhir"}


def concepts(name: str) -> dict[str, str]:
    root = ElementTree.parse(IG / "resources" / name).getroot()
    return {
        c.find("f:code", FHIR).get("value"): c.find("f:display", FHIR).get("value")
        for c in root.findall("f:concept", FHIR)
    }


@pytest.mark.skipif(
    not IG.exists(), reason="../shared/data/fhir/vn-core-ig is not beside the checkout"
)
def test_the_shipped_lists_are_the_ig_code_systems_unchanged():
    assert vn_core.ethnic_groups() == concepts("CodeSystem-vn-core-race-v1.0.xml")
    assert vn_core.occupations() == concepts("CodeSystem-vn-core-occupation-4069-v1.0.xml")
    assert len(vn_core.ethnic_groups()) == 56  # 54 groups, foreigners, unknown


def test_extensions_carry_the_code_and_its_name_and_read_back():
    patient = {
        "resourceType": "Patient",
        "extension": [vn_core.ethnic_group_extension("02"), vn_core.occupation_extension("05")],
    }
    assert patient["extension"][0] == {
        "url": "http://fhir.ehealth.gov.vn/core/StructureDefinition/extension-race",
        "valueCodeableConcept": {"coding": [{
            "system": "http://fhir.ehealth.gov.vn/core/CodeSystem/vn-core-race",
            "code": "02", "display": "Tày",
        }]},
    }  # fmt: skip
    assert vn_core.extension_code(patient, vn_core.EXT_OCCUPATION) == "05"
    assert vn_core.extension_code(patient, vn_core.EXT_ETHNIC_GROUP) == "02"
    assert vn_core.extension_code({"resourceType": "Patient"}, vn_core.EXT_OCCUPATION) is None


def test_an_unknown_code_is_refused_naming_it():
    with pytest.raises(ValueError, match="unknown ethnic group code '57'"):
        vn_core.ethnic_group_extension("57")
