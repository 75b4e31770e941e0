"""validate(): structural R4 validation, each issue naming the FHIRPath of the failing element."""

import copy
import json
from pathlib import Path

import pytest

from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.validation import _spec, validate, validated_types

XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">Nguyễn Văn An</div>'
PATIENT = {
    "resourceType": "Patient",
    "id": "vn-1",
    "text": {"status": "generated", "div": XHTML},
    "identifier": [{"system": "http://songkhoe.vn/cccd", "value": "001090012345"}],
    "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
    "gender": "male",
    "birthDate": "1990-04-30",
    "multipleBirthInteger": 1,
}
BP = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "subject": {"reference": "Patient/vn-1"},
    "effectiveDateTime": "2024-05-01T08:30:00+07:00",
    "component": [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "valueQuantity": {"value": 142, "unit": "mmHg", "code": "mm[Hg]"},
        }
    ],
}


def _issues(resource: object) -> list[tuple[str, tuple[str, ...]]]:
    with pytest.raises(FhirError) as caught:
        validate(resource)
    assert caught.value.status == 400
    return [(issue.code, issue.expression) for issue in caught.value.issues]


@pytest.mark.parametrize(
    "resource",
    [
        PATIENT,
        BP,
        {"resourceType": "Patient"},
        # a null in a primitive array holds the place of a value known only by its extension
        {
            "resourceType": "Patient",
            "name": [
                {
                    "given": ["An", None],
                    "_given": [None, {"extension": [{"url": "http://x", "valueCode": "UNK"}]}],
                }
            ],
        },
        # a required primitive may be absent when its extension says why (extensibility.html)
        {
            "resourceType": "Observation",
            "_status": {"extension": [{"url": "http://x", "valueString": "lost"}]},
            "code": {"text": "x"},
        },
        {
            "resourceType": "Patient",
            "contained": [BP],
            "generalPractitioner": [{"reference": "#x"}],
        },
        # R4 Extension content that R4B's model lacks: valueMeta and the `_value[x]` extensions
        {
            "resourceType": "Patient",
            "extension": [{"url": "http://x", "valueMeta": {"versionId": "2"}}],
        },
        {
            "resourceType": "Patient",
            "extension": [
                {
                    "url": "http://x",
                    "valueString": "Hà Nội",
                    "_valueString": {"extension": [{"url": "http://y", "valueCode": "vi"}]},
                }
            ],
        },
    ],
)
def test_valid_resources_pass_unchanged(resource: dict) -> None:
    before = copy.deepcopy(resource)
    validate(resource)
    assert resource == before and list(resource) == list(before)


@pytest.mark.parametrize(
    ("changes", "code", "expression"),
    [
        ({"birthDate": "1990-13-45"}, "value", "Patient.birthDate"),
        ({"birthDate": 19900430}, "value", "Patient.birthDate"),
        ({"colour": "red"}, "structure", "Patient.colour"),
        ({"name": [{"family": "Trần", "middle": "Thị"}]}, "structure", "Patient.name[0].middle"),
        ({"name": [{"given": "An"}]}, "structure", "Patient.name[0].given"),
        ({"name": [{"given": ["An", 3]}]}, "value", "Patient.name[0].given[1]"),
        ({"name": [{"given": ["An", None]}]}, "structure", "Patient.name[0].given[1]"),
        ({"name": {"family": "Lê"}}, "structure", "Patient.name"),
        ({"name": []}, "structure", "Patient.name"),
        ({"name": [{}]}, "structure", "Patient.name[0]"),
        ({"name": [None]}, "structure", "Patient.name[0]"),
        ({"gender": None}, "structure", "Patient.gender"),
        ({"gender": ""}, "value", "Patient.gender"),
        ({"active": "true"}, "value", "Patient.active"),
        ({"multipleBirthInteger": True}, "value", "Patient.multipleBirthInteger"),
        ({"multipleBirthInteger": 1.5}, "value", "Patient.multipleBirthInteger"),
        ({"deceasedBoolean": True, "deceasedDateTime": "2020"}, "structure", "Patient.deceased"),
        ({"link": [{"type": "seealso"}]}, "required", "Patient.link[0].other"),
        ({"id": "a b"}, "value", "Patient.id"),
        ({"text": {"status": "generated", "div": "plain"}}, "value", "Patient.text.div"),
        ({"birthDate__ext": {"extension": []}}, "structure", "Patient.birthDate__ext"),
        ({"fhir_comments": ["x"]}, "structure", "Patient.fhir_comments"),
        (
            {"extension": [{"url": "http://x", "valueCodeableReference": {"concept": {}}}]},
            "structure",
            "Patient.extension[0].valueCodeableReference",
        ),
        ({"extension": [{"valueString": "x"}]}, "required", "Patient.extension[0].url"),
        (
            {"extension": [{"url": "http://x", "valueMeta": {"lastUpdated": "today"}}]},
            "value",
            "Patient.extension[0].valueMeta.lastUpdated",
        ),
        (
            {"contained": [{"resourceType": "Observation", "status": "final"}]},
            "required",
            "Patient.contained[0].code",
        ),
        ({"contained": [{"resourceType": "Nope"}]}, "invalid", "Patient.contained[0]"),
    ],
)
def test_patient_faults_name_the_element(changes: dict, code: str, expression: str) -> None:
    assert (code, (expression,)) in _issues({**PATIENT, **changes})


@pytest.mark.parametrize(
    ("resource", "code", "expression"),
    [
        ({**BP, "status": None}, "structure", "Observation.status"),
        ({k: v for k, v in BP.items() if k != "status"}, "required", "Observation.status"),
        ({k: v for k, v in BP.items() if k != "code"}, "required", "Observation.code"),
        ({**BP, "effectiveDateTime": "2024-05-01T08:30"}, "value", "Observation.effectiveDateTime"),
        (
            {**BP, "component": [{"code": {"text": "x"}, "valueQuantity": {"value": "142"}}]},
            "value",
            "Observation.component[0].valueQuantity.value",
        ),
        ({**BP, "component": [{"valueString": "x"}]}, "required", "Observation.component[0].code"),
        (
            {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
             "subject": {"reference": "Patient/vn-1"}},
            "required",
            "MedicationRequest.medication",
        ),
    ],
)  # fmt: skip
def test_other_faults_name_the_element(resource: dict, code: str, expression: str) -> None:
    assert (code, (expression,)) in _issues(resource)


PRIMITIVES = [  # (type, a valid value, an invalid one) after http://hl7.org/fhir/R4/datatypes.html
    ("Boolean", False, "false"),
    ("Integer", -2147483648, 2147483648),
    ("String", "Hà Nội", " \t"),
    ("Decimal", 1e-7, float("inf")),
    ("Uri", "urn:oid:2.16.840", "http://songkhoe.vn/a b"),
    ("Url", "https://songkhoe.vn/a?b=c", "https://songkhoe.vn/a\tb"),
    ("Canonical", "http://hl7.org/fhir/StructureDefinition/bp|4.0.1", "http://x y|1"),
    ("Base64Binary", "aGVs\r\nbG8=", "aGVsbG8"),
    ("Instant", "2016-12-31T23:59:60.123Z", "2024-05-01T08:30:00"),
    ("Date", "2000-02-29", "1900-02-29"),
    ("DateTime", "2024-05-01T08:30:00.5+14:00", "2024-05-01T08:30+07:00"),
    ("Time", "23:59:60", "24:00:00"),
    ("Code", "mm[Hg] x", "a  b"),
    ("Oid", "urn:oid:1.2.840.10008", "urn:oid:1.02"),
    ("Id", "A-1." + "a" * 60, "a" * 65),
    ("Markdown", "**Hà Nội**\n", ""),
    ("UnsignedInt", 0, -1),
    ("PositiveInt", 2147483647, 0),
    ("Uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", "urn:uuid:C757873D-EC9A-4326"),
]  # fmt: skip


def _with_extension(type_name: str, value: object) -> dict:
    return {**PATIENT, "extension": [{"url": "http://x", f"value{type_name}": value}]}


@pytest.mark.parametrize(("type_name", "good", "bad"), PRIMITIVES)
def test_each_primitive_type_is_checked(type_name: str, good: object, bad: object) -> None:
    validate(_with_extension(type_name, good))
    expression = f"Patient.extension[0].value{type_name}"
    assert _issues(_with_extension(type_name, bad)) == [("value", (expression,))]


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"birthDate": "2020-13-01"}, "Patient.birthDate"),
        ({"birthDate": "1990-02-30"}, "Patient.birthDate"),  # the regex allows it; the calendar not
        ({"birthDate": "2019-02-29"}, "Patient.birthDate"),
        ({"birthDate": "1990-4-30"}, "Patient.birthDate"),
        ({"birthDate": "1990-04-30T00:00:00Z"}, "Patient.birthDate"),
        ({"deceasedDateTime": "2024-04-31T08:30:00Z"}, "Patient.deceasedDateTime"),
        ({"deceasedDateTime": "2024-05-01T08:30:00+15:00"}, "Patient.deceasedDateTime"),
        ({"id": "a" * 65}, "Patient.id"),
        ({"id": "vn_1"}, "Patient.id"),
        ({"gender": " male"}, "Patient.gender"),
        ({"name": [{"family": "x" * (1024 * 1024 + 1)}]}, "Patient.name[0].family"),
        ({"name": [{"given": ["An", "\u00a0"]}]}, "Patient.name[0].given[1]"),
        ({"multipleBirthInteger": -2147483649}, "Patient.multipleBirthInteger"),
        ({"multipleBirthInteger": "2"}, "Patient.multipleBirthInteger"),
        ({"multipleBirthInteger": 2.0}, "Patient.multipleBirthInteger"),
        ({"multipleBirthBoolean": 1}, "Patient.multipleBirthBoolean"),
        ({"identifier": [{"system": "http://songkhoe.vn/c cd"}]}, "Patient.identifier[0].system"),
        ({"meta": {"lastUpdated": "2024-05-01"}}, "Patient.meta.lastUpdated"),
        ({"photo": [{"data": "QUJD  " * 40 + "!"}]}, "Patient.photo[0].data"),  # no backtracking
        ({"photo": [{"size": 2147483648}]}, "Patient.photo[0].size"),
        (
            {"contained": [{**BP, "valueQuantity": {"value": float("nan")}}]},
            "Patient.contained[0].valueQuantity.value",
        ),
        (
            {"extension": [{"url": "http://x", "valueMeta": {"versionId": "v 2"}}]},
            "Patient.extension[0].valueMeta.versionId",
        ),
    ],
)
def test_malformed_primitives_name_the_element(changes: dict, expression: str) -> None:
    assert ("value", (expression,)) in _issues({**PATIENT, **changes})


def test_primitive_faults_come_with_the_structural_ones() -> None:
    """One walk checks both: a bad date is reported beside an unknown element."""
    assert sorted(_issues({**PATIENT, "colour": "red", "birthDate": "1990-02-30"})) == [
        ("structure", ("Patient.colour",)),
        ("value", ("Patient.birthDate",)),
    ]


def test_every_fault_is_reported_at_once() -> None:
    issues = _issues({**PATIENT, "colour": "red", "active": "yes", "name": [{"given": "An"}]})
    assert sorted(expression for _, (expression,) in issues) == [
        "Patient.active",
        "Patient.colour",
        "Patient.name[0].given",
    ]


@pytest.mark.parametrize(
    ("resource", "code", "words"),
    [
        ({"resourceType": "Colour"}, "invalid", "'Colour'"),
        ({"resourceType": "HumanName"}, "invalid", "'HumanName'"),
        ({"resourceType": "SubscriptionTopic"}, "invalid", "'SubscriptionTopic'"),  # R4B only
        ({"resourceType": "MedicinalProduct"}, "not-supported", "'MedicinalProduct'"),  # R4 only
        ({"id": "x"}, "required", "resourceType"),
    ],
)
def test_resource_type_must_be_known(resource: dict, code: str, words: str) -> None:
    with pytest.raises(FhirError) as caught:
        validate(resource)
    (issue,) = caught.value.issues
    assert (issue.code, issue.expression) == (code, ("resourceType",))
    assert words in issue.diagnostics


def test_a_resource_must_be_an_object() -> None:
    assert _issues(["Patient"]) == [("structure", ())]


def test_validated_types_are_r4_types() -> None:
    types = validated_types()
    assert {"Patient", "Observation", "Bundle", "Parameters"} <= types
    assert not types & {"SubscriptionTopic", "MedicinalProduct", "Resource", "HumanName"}
    assert len(types) == 146 - 18  # R4's concrete resource types less those R4B dropped


def _r4_element_names(definition: dict) -> tuple[set[str], set[str]]:
    """The element paths of an R4 StructureDefinition, choices expanded (value[x] ->
    valueQuantity, ...), and the paths that only refer to another element (contentReference)."""
    names, references = set(), set()
    for element in definition["snapshot"]["element"]:
        path = element["path"]
        if "." not in path:
            continue
        if "contentReference" in element:
            references.add(path)
        if path.endswith("[x]"):
            names |= {path[:-3] + t["code"][0].upper() + t["code"][1:] for t in element["type"]}
        else:
            names.add(path)
    return names, references


def _checked_element_names(model: type, path: str, skip: set[str], names: set[str]) -> None:
    """The element paths validate() accepts, down through the backbone elements of the type."""
    for name, element in _spec(model).elements.items():
        if name.startswith("_"):
            continue
        names.add(f"{path}.{name}")
        backbone = element.model is not None and element.model.__module__ == model.__module__
        if backbone and f"{path}.{name}" not in skip and element.model is not model:
            _checked_element_names(element.model, f"{path}.{name}", skip, names)


def test_r4b_models_have_the_r4_elements(r4_examples: Path, platform_types: tuple[str, ...]):
    """What the module docstring claims: for the platform's types, R4B has R4's elements."""
    from fhir.resources.R4B import get_fhir_model_class

    for resource_type in (*platform_types, "Extension"):
        definition = json.loads(
            (r4_examples / f"StructureDefinition-{resource_type}.json").read_text()
        )
        r4_names, references = _r4_element_names(definition)
        checked: set[str] = set()
        _checked_element_names(
            get_fhir_model_class(resource_type), resource_type, references, checked
        )
        assert checked == r4_names, resource_type
