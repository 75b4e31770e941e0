"""Validation of incoming resources against the FHIR R4 structure (http://hl7.org/fhir/R4/json.html).

`validate(resource)` returns None for a valid resource and otherwise raises `FhirError(400, issues)`
with one issue per fault, each naming the FHIRPath of the failing element (`Patient.birthDate`,
`Patient.name[0].given`, `Observation.value`). Issue codes: `structure` (unknown element, wrong JSON
shape, null, empty), `required` (a missing element), `value` (a malformed primitive), `invalid` (an
unknown resourceType) and `not-supported` (an R4 resource type R4B lacks, see below).
`validated_types()` is the set of resource types it checks.

Two passes:

1. A walk of the JSON, directed by the model classes, that checks what the JSON format itself
   requires and `fhir.resources` lets through: unknown elements (this server rejects them), JSON
   types (`"active": "true"` is not a boolean), `null`, empty objects, arrays and strings, an array
   where one value is expected and the reverse, required elements (min 1), at most one type of a
   choice element `value[x]` (and exactly one where it is required), known `resourceType`s (also of
   contained resources), and a narrative `div` that is an XHTML `<div>`.
2. The `fhir.resources` model (pydantic) for the lexical rules of the primitive types (date,
   dateTime, instant, id, code, decimal, ... regexes and integer ranges).

Invariants (FHIRPath constraints such as ele-1 beyond emptiness, obs-6, ext-1), required value-set
bindings and reference target types are not checked.

R4B (4.3.0), whose models `fhir.resources.R4B` provides, stands in for R4 (4.0.1): `fhir.resources`
has no R4 package. For the resource types of this platform -- Patient, Encounter, Observation,
Condition, MedicationRequest, RiskAssessment, ImagingStudy, DiagnosticReport, ServiceRequest,
Communication, Task, Flag, AuditEvent, Organization, Location, Practitioner -- and for the data
types they use, R4B and R4 have the same elements with the same cardinalities and types (compared
against the R4 StructureDefinitions in hl7.fhir.r4.examples 4.0.1), except `Extension.value[x]`:

- R4 allows `valueMeta`, R4B does not: here it is accepted (checked as a Meta) as R4 says;
- R4B adds `valueCodeableReference` and `valueRatioRange`: here they are unknown elements, as in R4;
- and, a gap of `fhir.resources` rather than of R4B, its Extension model lacks the `_valueString`
  (...) siblings that carry the id and extensions of a primitive value: accepted here, as R4 does.

tests/fhir/test_validation.py checks this claim against the R4 StructureDefinitions.
Cost (one CPU core): about 0.2 ms for a blood-pressure Observation and 0.3 ms on average for the
64 R4 example Observations; the pydantic model takes 70-85% of it.

Resource types differ too: those R4B added (Citation, SubscriptionTopic, ...) are unknown here, and
those R4B removed (MedicinalProduct*, Substance{NucleicAcid,Polymer,...}, *EvidenceSynthesis) are
valid R4 that this server cannot check and so refuses (issue `not-supported`).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from xml.etree import ElementTree

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.fhirprimitiveextension import FHIRPrimitiveExtension
from fhir.resources.R4B.meta import Meta
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FHIR_PRIMITIVES_MAPS, FhirBase
from pydantic import ValidationError

from songkhoe.fhir.outcomes import FhirError, Issue

XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"
R4_ONLY_TYPES = frozenset(
    {
        "EffectEvidenceSynthesis", "MedicinalProduct", "MedicinalProductAuthorization",
        "MedicinalProductContraindication", "MedicinalProductIndication",
        "MedicinalProductIngredient", "MedicinalProductInteraction",
        "MedicinalProductManufactured", "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect",
        "RiskEvidenceSynthesis", "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
        "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification",
    }
)  # fmt: skip
VALIDATED_TYPES = frozenset(  # the concrete R4 resource types that R4B has too
    {
        "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment",
        "AppointmentResponse", "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct",
        "BodyStructure", "Bundle", "CapabilityStatement", "CarePlan", "CareTeam", "CatalogEntry",
        "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse", "ClinicalImpression",
        "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition",
        "Composition", "ConceptMap", "Condition", "Consent", "Contract", "Coverage",
        "CoverageEligibilityRequest", "CoverageEligibilityResponse", "DetectedIssue", "Device",
        "DeviceDefinition", "DeviceMetric", "DeviceRequest", "DeviceUseStatement",
        "DiagnosticReport", "DocumentManifest", "DocumentReference", "Encounter", "Endpoint",
        "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence",
        "EvidenceVariable", "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory",
        "Flag", "Goal", "GraphDefinition", "Group", "GuidanceResponse", "HealthcareService",
        "ImagingStudy", "Immunization", "ImmunizationEvaluation", "ImmunizationRecommendation",
        "ImplementationGuide", "InsurancePlan", "Invoice", "Library", "Linkage", "List",
        "Location", "Measure", "MeasureReport", "Media", "Medication", "MedicationAdministration",
        "MedicationDispense", "MedicationKnowledge", "MedicationRequest", "MedicationStatement",
        "MessageDefinition", "MessageHeader", "MolecularSequence", "NamingSystem",
        "NutritionOrder", "Observation", "ObservationDefinition", "OperationDefinition",
        "OperationOutcome", "Organization", "OrganizationAffiliation", "Parameters", "Patient",
        "PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner",
        "PractitionerRole", "Procedure", "Provenance", "Questionnaire", "QuestionnaireResponse",
        "RelatedPerson", "RequestGroup", "ResearchDefinition", "ResearchElementDefinition",
        "ResearchStudy", "ResearchSubject", "RiskAssessment", "Schedule", "SearchParameter",
        "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition", "StructureDefinition",
        "StructureMap", "Subscription", "Substance", "SupplyDelivery", "SupplyRequest", "Task",
        "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet", "VerificationResult",
        "VisionPrescription",
    }
)  # fmt: skip
_JSON_KIND = {  # FHIR primitive type -> the JSON type that carries it
    "boolean": "boolean",
    "integer": "integer",
    "unsignedInt": "integer",
    "positiveInt": "integer",
    "decimal": "decimal",
    "xhtml": "xhtml",
}
_STRUCTURE_ERRORS = frozenset(
    {"list_type", "dict_type", "model_type", "model_attributes_type", "extra_forbidden"}
)
_REQUIRED_ERRORS = frozenset({"missing", "model_field_validation.missing"})
_REGEX_MESSAGE = re.compile(  # fhir_core's "Value error, Date value string does not match ..."
    r"^Value error, (Date|DateTime|Instant|Time|Decimal) value string does not match spec regex\.$"
)


@dataclass(frozen=True, slots=True)
class _Element:
    """How one JSON property of a model is checked."""

    repeats: bool
    kind: str  # boolean, integer, decimal, string, xhtml, complex, resource
    model: type[FHIRAbstractModel] | None = None  # the model of a complex element
    choice: str | None = None  # "value" for valueQuantity, valueString, ...
    r4_only: bool = False  # checked apart and hidden from the R4B model (see the docstring)


@dataclass(frozen=True, slots=True)
class _Spec:
    elements: dict[str, _Element]  # by JSON name: "birthDate", "_birthDate", "valueQuantity"
    required: tuple[tuple[str, bool], ...]  # (name, is a primitive)
    required_choices: tuple[str, ...]  # "medication" for MedicationRequest.medication[x]


# A FHIRPath built only when an issue needs it: the root string, then (parent, name or index).
_Path: typing.TypeAlias = "str | tuple[_Path, str | int]"


def _render(path: _Path) -> str:
    parts: list[str | int] = []
    while isinstance(path, tuple):
        path, part = path
        parts.append(part)
    return path + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part.removeprefix('_')}"
        for part in reversed(parts)
    )


def _unwrap(annotation: typing.Any) -> tuple[typing.Any, bool]:
    """The element type of an annotation such as `list[HumanNameType] | None`, and whether it
    repeats."""
    repeats = False
    while typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        if typing.get_origin(annotation) is list:
            repeats = True
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation, repeats


def _element(annotation: typing.Any, choice: str | None) -> _Element:
    target, repeats = _unwrap(annotation)
    if isinstance(target, type) and issubclass(target, FhirBase):
        model = target.get_model_klass()
        if model.__name__ == "Resource":
            return _Element(repeats, "resource")
        return _Element(repeats, "complex", model, choice)
    if target is bool:
        kind = "boolean"
    else:
        kind = _JSON_KIND.get(FHIR_PRIMITIVES_MAPS.get(target, "string"), "string")
    return _Element(repeats, kind, choice=choice)


@cache
def _spec(model: type[FHIRAbstractModel]) -> _Spec:
    """The JSON properties of a model (cached per model class)."""
    required_primitives = {name for name, _ in model.get_required_fields(None)}  # type: ignore[arg-type]
    elements: dict[str, _Element] = {}
    required: list[tuple[str, bool]] = []
    choices: dict[str, list[str]] = {}
    required_choices: set[str] = set()
    for name, field in model.model_fields.items():
        if name == "fhir_comments":  # DSTU2 JSON comments: not an R4 element
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        choice: str | None = extra.get("one_of_many")  # type: ignore[assignment]
        json_name = field.alias or name
        element = elements[json_name] = _element(field.annotation, choice)
        if choice:
            choices.setdefault(choice, []).append(json_name)
            if extra.get("one_of_many_required"):
                required_choices.add(choice)
        elif field.is_required() or name in required_primitives:
            required.append((json_name, element.kind not in ("complex", "resource")))
    if model.__name__ == "Extension":  # R4's Extension.value[x] (see the module docstring)
        for r4b_only in ("valueCodeableReference", "valueRatioRange"):
            del elements[r4b_only]
        elements["valueMeta"] = _Element(False, "complex", Meta, "value", r4_only=True)
        for name in choices["value"]:
            if elements.get(name, elements["valueMeta"]).kind not in ("complex", "resource"):
                elements[f"_{name}"] = _Element(
                    False, "complex", FHIRPrimitiveExtension, r4_only=True
                )
    return _Spec(
        elements,
        tuple(required),
        tuple(sorted(required_choices)),
    )


@cache
def _resource_model(resource_type: str) -> type[FHIRAbstractModel] | None:
    """The R4B model of an R4 resource type (imported on first use), or None."""
    return get_fhir_model_class(resource_type) if resource_type in VALIDATED_TYPES else None


def validated_types() -> frozenset[str]:
    """The R4 resource types that `validate` checks: those R4 and R4B both define."""
    return VALIDATED_TYPES


class _Walk:
    """The JSON pass: collects issues and the R4 elements that R4B's models lack."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.r4_only: list[tuple[dict, str, _Element, str]] = []  # (owner, key, element, path)

    def fail(self, code: str, path: _Path | None, message: str) -> None:
        if path is None:
            self.issues.append(Issue(code, message))
        else:
            text = _render(path)
            self.issues.append(Issue(code, f"{text}: {message}", (text,)))

    def resource(self, data: typing.Any, path: _Path | None) -> None:
        if not isinstance(data, dict):
            self.fail("structure", path, "a resource must be a JSON object")
            return
        resource_type = data.get("resourceType")
        if not isinstance(resource_type, str):
            where = "resourceType" if path is None else (path, "resourceType")
            self.fail("required", where, "a resource must name its resourceType")
            return
        model = _resource_model(resource_type)
        if model is None:
            code = "not-supported" if resource_type in R4_ONLY_TYPES else "invalid"
            what = "not supported by this server" if code == "not-supported" else "unknown in R4"
            where = "resourceType" if path is None else path
            self.fail(code, where, f"resource type {resource_type!r} is {what}")
            return
        self.object(data, model, resource_type if path is None else path, is_resource=True)

    def object(
        self, data: dict, model: type[FHIRAbstractModel], path: _Path, *, is_resource: bool = False
    ) -> None:
        spec = _spec(model)
        elements = spec.elements
        chosen: dict[str, list[str]] = {}
        for key, value in data.items():
            element = elements.get(key)
            if element is None:
                if key != "resourceType" or not is_resource:
                    self.fail("structure", (path, key), f"unknown element {key!r}")
                continue
            self.value(value, key, element, data, (path, key))
            if element.choice is not None:
                chosen.setdefault(element.choice, []).append(key)
            if element.r4_only:
                self.r4_only.append((data, key, element, _render((path, key))))
        if not data and not is_resource:
            self.fail("structure", path, "an element must have content, not be an empty object")
        for key, primitive in spec.required:
            if key not in data and not (primitive and f"_{key}" in data):
                self.fail("required", (path, key), f"required element {key!r} is missing")
        for choice in spec.required_choices:
            if choice not in chosen:
                self.fail("required", (path, choice), f"{choice}[x] is required")
        for choice, names in chosen.items():
            if len(names) > 1:
                self.fail("structure", (path, choice), f"only one of {names} may be given")

    def value(
        self, value: typing.Any, key: str, element: _Element, owner: dict, path: _Path
    ) -> None:
        if not element.repeats:
            if isinstance(value, list):
                self.fail("structure", path, "a single value is expected, not an array")
            else:
                self.item(value, element, path)
            return
        if not isinstance(value, list):
            self.fail("structure", path, "an array is expected")
            return
        if not value:
            self.fail("structure", path, "arrays must not be empty")
        # In an array of primitives, null holds the place of a value whose `_name` sibling
        # carries its id or extensions (json.html#primitive), and the other way round.
        primitive = key.startswith("_") or element.kind not in ("complex", "resource")
        for index, item in enumerate(value):
            if item is not None:
                self.item(item, element, (path, index))
                continue
            partner = owner.get(key[1:] if key.startswith("_") else f"_{key}")
            if not (
                primitive
                and isinstance(partner, list)
                and index < len(partner)
                and partner[index] is not None
            ):
                self.fail("structure", (path, index), "null is not allowed here")

    def item(self, value: typing.Any, element: _Element, path: _Path) -> None:
        kind = element.kind
        if value is None:
            self.fail("structure", path, "null is not allowed; leave the element out")
        elif kind == "string":
            if not isinstance(value, str):
                self.fail("value", path, "a JSON string is expected")
            elif not value.strip():
                self.fail("value", path, "a string must not be empty or blank")
        elif kind == "complex":
            if isinstance(value, dict):
                self.object(value, element.model, path)  # type: ignore[arg-type]
            else:
                self.fail("structure", path, "a JSON object is expected")
        elif kind == "resource":
            self.resource(value, path)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.fail("value", path, "a JSON boolean (true or false) is expected")
        elif kind in ("integer", "decimal"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail("value", path, "a JSON number is expected")
            elif kind == "integer" and not isinstance(value, int):
                self.fail("value", path, "an integer is expected")
        elif not isinstance(value, str):
            self.fail("value", path, "a JSON string is expected")
        elif not _is_xhtml_div(value):
            self.fail("value", path, "narrative must be an XHTML <div> element")


def _is_xhtml_div(text: str) -> bool:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return False
    return root.tag == XHTML_DIV


def _fhirpath(root: str, loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as FHIRPath: ('name', 0, '_given') -> Patient.name[0].given."""
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part.removeprefix('_')}"
    return path


def _type_message(match: re.Match) -> str:
    name = match[1]
    return f"not a valid FHIR {name[0].lower()}{name[1:]}"


def _model_issues(model: type[FHIRAbstractModel], data: dict, root: str) -> list[Issue]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            path = _fhirpath(root, error["loc"])
            if error["type"] in _REQUIRED_ERRORS:
                code = "required"
            elif error["type"] in _STRUCTURE_ERRORS:
                code = "structure"
            else:
                code = "value"
            message = _REGEX_MESSAGE.sub(_type_message, error["msg"])
            issues.append(Issue(code, f"{path}: {message}", (path,)))
        return issues
    return []


def validate(resource: typing.Any) -> None:
    """Raise FhirError(400) unless `resource` is a structurally valid R4 resource in JSON form."""
    walk = _Walk()
    walk.resource(resource, None)
    if walk.issues:
        raise FhirError(400, walk.issues)
    resource_type = resource["resourceType"]
    issues = [
        issue
        for owner, key, element, path in walk.r4_only
        for issue in _model_issues(element.model, owner[key], path)  # type: ignore[arg-type]
    ]
    originals = [(owner, dict(owner)) for owner, *_ in walk.r4_only]
    try:
        for owner, key, *_ in walk.r4_only:
            del owner[key]
        issues += _model_issues(_resource_model(resource_type), resource, resource_type)  # type: ignore[arg-type]
    finally:  # give the caller its resource back as it was, key order included
        for owner, original in originals:
            owner.clear()
            owner.update(original)
    if issues:
        raise FhirError(400, issues)
