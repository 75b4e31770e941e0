"""Validation of incoming resources against the FHIR R4 structure (http://hl7.org/fhir/R4/json.html).

`validate(resource)` returns None for a valid resource and otherwise raises `FhirError(400, issues)`
with one issue per fault, each naming the FHIRPath of the failing element (`Patient.birthDate`,
`Patient.name[0].given`, `Observation.value`). Issue codes: `structure` (unknown element, wrong JSON
shape, null, empty), `required` (a missing element), `value` (a malformed primitive), `invalid` (an
unknown resourceType) and `not-supported` (an R4 resource type R4B lacks, see below).
`validated_types()` is the set of resource types it checks.

One walk of the JSON, directed by an element table built once per type from the `fhir.resources`
model classes (their fields only: the pydantic validators are never run), checks:

- what the JSON format requires: unknown elements (this server rejects them), JSON types
  (`"active": "true"` is not a boolean), `null`, empty objects, arrays and strings, an array where
  one value is expected and the reverse, required elements (min 1), at most one type of a choice
  element `value[x]` (and exactly one where it is required), known `resourceType`s (also of
  contained resources), and a narrative `div` that is an XHTML `<div>`;
- the primitive types of http://hl7.org/fhir/R4/datatypes.html#primitive: the regex of each (as
  given in its R4 StructureDefinition, `\\s` read as in XML Schema: space, tab, CR, LF), the ranges
  of integer (32-bit), unsignedInt and positiveInt, at most 1,048,576 characters in a string (and a
  code or markdown, which are strings), a finite decimal, and real calendar dates in date, dateTime
  and instant ("Dates SHALL be valid dates": no 1990-02-30).

Two rules of R4 that this server enforces beyond the regexes:

- no string-based value (string, code, id, uri, markdown, xhtml, ... also inside extensions)
  holds a C0 control character other than tab, CR and LF: R4 strings should hold no character
  below U+0020 but those three (datatypes.html#string), and PostgreSQL's jsonb cannot hold U+0000.
  One regex over orjson's serialisation, where each such character is an escape (\\u0000, \\b,
  \\f), looks for them; the walk that names the elements runs only when it finds one. Keys need no
  check: a key must be the name of an R4 element (none holds one) or is refused as unknown.
- a literal reference (Reference.reference, references.html#literal) is in its canonical form
  (`canonical_reference`): `Type/id[/_history/version]`, `#id` for a contained resource,
  `Type?query` (a conditional reference, resolved in transactions) or an absolute URL. One under
  this server's FHIR base (SONGKHOE_BASE_URL + /fhir/) is rewritten in place to `Type/id` before
  anything else looks at it, so that the access checks see whom it names; one to another server
  stays as given, and names nobody here.
- an Identifier of one of the project's systems before VN Core (`fhir.systems.LEGACY_SYSTEMS`)
  gets VN Core's system, rewritten in place: what is stored is VN Core's, whichever was sent.

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

Resource types differ too: those R4B added (Citation, SubscriptionTopic, ...) are unknown here, and
those R4B removed (MedicinalProduct*, Substance{NucleicAcid,Polymer,...}, *EvidenceSynthesis) are
valid R4 that this server cannot check and so refuses (issue `not-supported`).

Cost (one CPU core, bench/validation_rate.py): about 15-18 us for a synthetic Observation, Patient
or Encounter, 8-10x less than the `fhir.resources` model's own validation (it was 120-250 us when
that model ran as a second pass); a narrative `div` adds an XML parse. The control-character scan
and the reference check add about 1.5 us of that (14.1 -> 15.6 us, 711 synthetic resources timed
beside the version without them, best of 25 passes).
"""

from __future__ import annotations

import calendar
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import urlsplit
from xml.etree import ElementTree

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.fhirprimitiveextension import FHIRPrimitiveExtension
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.reference import Reference
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FHIR_PRIMITIVES_MAPS, FhirBase

from songkhoe.config import base_url
from songkhoe.fhir.outcomes import FhirError, Issue
from songkhoe.fhir.systems import LEGACY_SYSTEMS

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
# The check of a primitive value: None when it is valid, else what is wrong with it, as a
# predicate of the element ("is not a valid FHIR date": "Patient.birthDate is not a valid ...").
_Check: typing.TypeAlias = Callable[[typing.Any], "str | None"]

MAX_STRING = 1024 * 1024  # string.value maxLength in the R4 StructureDefinition of string
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_BASE64 = "[0-9a-zA-Z+/]"
_NOT_SPACE = r"[^ \t\n\r]"  # XML Schema's \S: FHIR's regexes are XML Schema regexes
_PATTERNS = {  # the `regex` extension of each type's R4 StructureDefinition, \s and \S as above
    "date": rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?",
    "dateTime": rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T{_TIME}{_ZONE})?)?)?",
    "instant": rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_ZONE}",
    "time": _TIME,
    "code": rf"{_NOT_SPACE}+([ \t\n\r]{_NOT_SPACE}+)*",
    "id": r"[A-Za-z0-9\-.]{1,64}",
    "oid": r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+",
    "uuid": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "uri": rf"{_NOT_SPACE}*",
    "url": rf"{_NOT_SPACE}*",
    "canonical": rf"{_NOT_SPACE}*",
    # R4's (\s*([0-9a-zA-Z\+/=]){4}\s*)+ less its exponential backtracking (over the ways to
    # split blanks between two groups), and with `=` only as RFC 4648's padding at the end
    "base64Binary": rf"[ \t\n\r]*({_BASE64}{{4}}[ \t\n\r]*)*"
    rf"({_BASE64}{{2}}==|{_BASE64}{{3}}=|{_BASE64}{{4}})[ \t\n\r]*",
}
_STRINGS = frozenset({"string", "code", "markdown"})  # the string type and its specialisations
# A C0 control character that no FHIR string may hold (datatypes.html#string), and the escapes
# that orjson writes for one inside a JSON string (tab, LF and CR are \t, \n and \r there).
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPED_CONTROL = re.compile(rb"\\(?:[bf]|u00[01])")
STRINGS_SPEC = "http://hl7.org/fhir/R4/datatypes.html#string"

R4_TYPES = VALIDATED_TYPES | R4_ONLY_TYPES
REFERENCES_SPEC = "http://hl7.org/fhir/R4/references.html#literal"
_ID = r"[A-Za-z0-9\-.]{1,64}"
_RELATIVE = re.compile(rf"([A-Z][A-Za-z]+)/{_ID}(?:/_history/{_ID})?")
_CONDITIONAL = re.compile(r"([A-Z][A-Za-z]+)\?")
_CONTAINED = re.compile(rf"#(?:{_ID})?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")  # RFC 3986, section 3.1
_BLANK = re.compile(r"\s")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_real_date(text: str) -> bool:
    """Whether the day of a date, dateTime or instant that matched its regex exists."""
    if len(text) < 10 or text[8:10] <= "28":
        return True
    month, day = int(text[5:7]), int(text[8:10])
    return day <= _DAYS_IN_MONTH[month] and (
        month != 2 or day < 29 or calendar.isleap(int(text[:4]))
    )


def _text_check(name: str) -> _Check:
    """A primitive carried as a JSON string: not blank, matching its regex, not too long."""
    fullmatch = re.compile(_PATTERNS[name]).fullmatch if name in _PATTERNS else None
    dates = name in ("date", "dateTime", "instant")
    max_length = MAX_STRING if name in _STRINGS else None
    invalid = f"is not a valid FHIR {name}"

    def check(value: typing.Any) -> str | None:
        if not isinstance(value, str):
            return "must be a JSON string"
        if not value or value.isspace():
            return "must not be empty or blank"
        if fullmatch is not None and (
            fullmatch(value) is None or (dates and not _is_real_date(value))
        ):
            return invalid
        if max_length is not None and len(value) > max_length:
            return f"must not exceed {max_length:,} characters"
        return None

    return check


def _integer_check(low: int) -> _Check:
    """integer, unsignedInt or positiveInt: a JSON integer from `low` to 2,147,483,647."""
    high = 2**31 - 1
    out_of_range = f"must be an integer from {low:,} to {high:,}"

    def check(value: typing.Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a JSON number"
        if not isinstance(value, int):
            return "must be an integer"
        return None if low <= value <= high else out_of_range

    return check


def _decimal_check(value: typing.Any) -> str | None:
    """A JSON number; every finite one has a representation that matches decimal's regex."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a JSON number"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a valid FHIR decimal"
    return None


def _boolean_check(value: typing.Any) -> str | None:
    return None if isinstance(value, bool) else "must be a JSON boolean (true or false)"


def _xhtml_check(value: typing.Any) -> str | None:
    """Narrative: an XHTML <div> (narrative.html#xhtml)."""
    if not isinstance(value, str):
        return "must be a JSON string"
    try:
        if ElementTree.fromstring(value).tag == XHTML_DIV:
            return None
    except ElementTree.ParseError:
        pass
    return "must be an XHTML <div> element"


_CHECKS: dict[str, _Check] = {
    "boolean": _boolean_check,
    "integer": _integer_check(-(2**31)),
    "unsignedInt": _integer_check(0),
    "positiveInt": _integer_check(1),
    "decimal": _decimal_check,
    "xhtml": _xhtml_check,
    **{name: _text_check(name) for name in ("string", "markdown", *_PATTERNS)},
}


@dataclass(frozen=True, slots=True)
class _Server:
    """Where a URL must point to be this server's: its scheme, host and port, and the path of
    its FHIR base with a trailing slash."""

    scheme: str
    hostname: str
    port: int
    fhir_path: str


@cache
def _server(base: str) -> _Server | None:
    """This server's place from its base URL (config.base_url, a checked http(s) URL); None
    for "": the server has no absolute URL of its own."""
    if not base:
        return None
    parts = urlsplit(base)
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    return _Server(parts.scheme, parts.hostname or "", port, parts.path.rstrip("/") + "/fhir/")


@lru_cache(maxsize=65536)  # a batch names the same people and places again and again
def _relative(reference: str) -> bool:
    """Whether a reference is `Type/id[/_history/version]` of an R4 resource type."""
    match = _RELATIVE.fullmatch(reference)
    return match is not None and match.group(1) in R4_TYPES


def local_reference(url: str) -> str:
    """`url` relative to this server's FHIR base when it is an http(s) URL on this server's
    host (SONGKHOE_BASE_URL): `https://songkhoe.example.vn/fhir/Patient/1` becomes `Patient/1`;
    any other value as given. Scheme and host compare without case and a default port equals
    none (RFC 3986, section 6.2.3). Raises ValueError for a URL on this server's host that is not
    `<base>/fhir/Type/id[/_history/version]` exactly (another scheme or port, user info, a path
    elsewhere, a query, a fragment, percent-encoding), rather than take it for another server's."""
    server = _server(base_url())
    if server is None or not url[:6].lower().startswith(("http:", "https:")):
        return url
    try:
        parts = urlsplit(url)
        if parts.hostname != server.hostname:
            return url
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a malformed [IPv6] host or port
        raise ValueError("it is not a valid URL") from None
    path = parts.path
    local = path[len(server.fhir_path) :]
    if (
        (parts.scheme, port) != (server.scheme, server.port)
        or parts.username is not None
        or not path.startswith(server.fhir_path)
        or "?" in url
        or "#" in url
        or not _relative(local)
    ):
        raise ValueError(
            f"a URL on this server's host must be {base_url()}/fhir/Type/id (SONGKHOE_BASE_URL)"
        )
    return local


def canonical_reference(reference: str) -> str:
    """A literal reference (Reference.reference) as this server stores it: one under this
    server's FHIR base made relative (`local_reference`), others as given. Raises ValueError,
    saying why, unless it is `Type/id`, `Type/id/_history/version` (of an R4 resource type,
    case-sensitive), `#id` (a contained resource), `Type?query` (a conditional reference) or an
    absolute URL or URN without whitespace (references.html#literal, RFC 3986): `patient/1`,
    `Patient//1`, `./Patient/1`, `Patient%2F1`, `Patient/1#x` and `Patient/1 ` are refused."""
    if _relative(reference):  # the common case first
        return reference
    if reference.startswith("#"):
        if _CONTAINED.fullmatch(reference) is None:
            raise ValueError("a reference to a contained resource is # and its id")
        return reference
    conditional = _CONDITIONAL.match(reference)
    if conditional is not None and conditional.group(1) in R4_TYPES:
        return reference  # its query is checked where it is resolved (songkhoe.fhir.bundles)
    if _BLANK.search(reference):
        raise ValueError("a reference holds no whitespace")
    if _SCHEME.match(reference):
        return local_reference(reference)
    if "#" in reference:
        raise ValueError("only a reference to a contained resource (#id) has a fragment")
    raise ValueError(
        "a relative reference is Type/id or Type/id/_history/version, of an R4 resource type"
    )


@dataclass(frozen=True, slots=True)
class _Element:
    """How one JSON property of a model is checked."""

    repeats: bool
    kind: str  # a primitive type (boolean, date, code, ...), complex or resource
    model: type[FHIRAbstractModel] | None = None  # the model of a complex element
    choice: str | None = None  # "value" for valueQuantity, valueString, ...
    check: _Check | None = None  # the check of a primitive's value


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
    kind = "boolean" if target is bool else FHIR_PRIMITIVES_MAPS[target]
    return _Element(repeats, kind, choice=choice, check=_CHECKS[kind])


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
            required.append((json_name, element.check is not None))
    if model.__name__ == "Extension":  # R4's Extension.value[x] (see the module docstring)
        for r4b_only in ("valueCodeableReference", "valueRatioRange"):
            del elements[r4b_only]
        elements["valueMeta"] = _Element(False, "complex", Meta, "value")
        for name in choices["value"]:
            if elements.get(name, elements["valueMeta"]).check is not None:
                elements[f"_{name}"] = _Element(False, "complex", FHIRPrimitiveExtension)
    return _Spec(elements, tuple(required), tuple(sorted(required_choices)))


@cache
def _resource_model(resource_type: str) -> type[FHIRAbstractModel] | None:
    """The R4B model of an R4 resource type (imported on first use), or None."""
    return get_fhir_model_class(resource_type) if resource_type in VALIDATED_TYPES else None


def validated_types() -> frozenset[str]:
    """The R4 resource types that `validate` checks: those R4 and R4B both define."""
    return VALIDATED_TYPES


class _Walk:
    """The walk of a resource's JSON: collects the issues."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fail(self, code: str, path: _Path | None, message: str) -> None:
        if path is None:
            self.issues.append(Issue(code, message))
        else:
            text = _render(path)
            self.issues.append(Issue(code, f"{text}: {message}", (text,)))

    def bad_value(self, path: _Path, predicate: str) -> None:
        text = _render(path)
        self.issues.append(Issue("value", f"{text} {predicate}", (text,)))

    def reference(self, data: dict, path: _Path) -> None:
        """A Reference's literal reference in its canonical form, rewritten in place."""
        value = data.get("reference")
        if type(value) is not str or _relative(value) or not value.strip():
            return  # Type/id, the common case; not a string or blank: the string check says so
        try:
            data["reference"] = canonical_reference(value)
        except ValueError as exc:
            self.bad_value(
                (path, "reference"), f"is not a valid reference: {exc} ({REFERENCES_SPEC})"
            )

    def control_characters(self, value: typing.Any, path: _Path) -> None:
        """Report each string value under `value` that holds a control character."""
        if type(value) is str:
            found = CONTROL_CHARACTER.search(value)
            if found is not None:
                code = f"U+{ord(found.group()):04X}"
                self.bad_value(
                    path,
                    f"holds a control character ({code}), which FHIR strings may not hold "
                    f"({STRINGS_SPEC})",
                )
        elif type(value) is dict:
            for key, item in value.items():
                self.control_characters(item, (path, key))
        elif type(value) is list:
            for index, item in enumerate(value):
                self.control_characters(item, (path, index))

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
        chosen: dict[str, list[str]] | None = None  # choice -> the names given of its types
        if model is Reference:
            self.reference(data, path)
        elif model is Identifier and data.get("system") in LEGACY_SYSTEMS:
            data["system"] = LEGACY_SYSTEMS[data["system"]]  # VN Core's (fhir.systems)
        for key, value in data.items():
            element = elements.get(key)
            if element is None:
                if key != "resourceType" or not is_resource:
                    self.fail("structure", (path, key), f"unknown element {key!r}")
                continue
            if element.choice is not None:
                if chosen is None:
                    chosen = {}
                chosen.setdefault(element.choice, []).append(key)
            check = element.check
            if element.repeats:
                self.array(value, key, element, data, (path, key))
            elif check is not None and value is not None and not isinstance(value, list):
                message = check(value)  # the common case, inlined: a single primitive value
                if message is not None:
                    self.bad_value((path, key), message)
            elif type(value) is dict and element.model is not None:  # and a single object
                self.object(value, element.model, (path, key))
            elif isinstance(value, list):
                self.fail("structure", (path, key), "a single value is expected, not an array")
            else:
                self.item(value, element, (path, key))
        if not data and not is_resource:
            self.fail("structure", path, "an element must have content, not be an empty object")
        for key, primitive in spec.required:
            if key not in data and not (primitive and f"_{key}" in data):
                self.fail("required", (path, key), f"required element {key!r} is missing")
        for choice in spec.required_choices:
            if chosen is None or choice not in chosen:
                self.fail("required", (path, choice), f"{choice}[x] is required")
        if chosen is not None:
            for choice, names in chosen.items():
                if len(names) > 1:
                    self.fail("structure", (path, choice), f"only one of {names} may be given")

    def array(
        self, value: typing.Any, key: str, element: _Element, owner: dict, path: _Path
    ) -> None:
        if not isinstance(value, list):
            self.fail("structure", path, "an array is expected")
            return
        if not value:
            self.fail("structure", path, "arrays must not be empty")
        # In an array of primitives, null holds the place of a value whose `_name` sibling
        # carries its id or extensions (json.html#primitive), and the other way round.
        primitive = key.startswith("_") or element.check is not None
        model = None if primitive else element.model
        for index, item in enumerate(value):
            if type(item) is dict and model is not None:  # the common case, inlined
                self.object(item, model, (path, index))
                continue
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
        check = element.check
        if value is None:
            self.fail("structure", path, "null is not allowed; leave the element out")
        elif check is not None:
            message = check(value)
            if message is not None:
                self.bad_value(path, message)
        elif element.model is None:
            self.resource(value, path)
        elif isinstance(value, dict):
            self.object(value, element.model, path)
        else:
            self.fail("structure", path, "a JSON object is expected")


def _may_hold_control_characters(resource: dict) -> bool:
    try:
        return _ESCAPED_CONTROL.search(orjson.dumps(resource)) is not None
    except orjson.JSONEncodeError:  # not read from JSON (an integer past 64 bits, ...)
        return True


def validate(resource: typing.Any) -> None:
    """Raise FhirError(400) unless `resource` is a valid R4 resource in JSON form (see the module
    docstring); its references to this server are rewritten in place to relative ones, and its
    identifiers of a legacy system to VN Core's (`songkhoe.fhir.systems.LEGACY_SYSTEMS`)."""
    walk = _Walk()
    walk.resource(resource, None)
    issues = walk.issues
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if resource_type in VALIDATED_TYPES and _may_hold_control_characters(resource):
        controls = _Walk()
        controls.control_characters(resource, resource_type)
        named = {issue.expression for issue in controls.issues}
        issues = controls.issues + [i for i in issues if i.expression not in named]
    if issues:
        raise FhirError(400, issues)
