"""FHIR errors and OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html).

Every failure the API reports is a `FhirError`: an HTTP status, an issue type from
http://hl7.org/fhir/R4/valueset-issue-type.html, a human-readable message and, where known, the
FHIRPath of the element at fault.
"""

from dataclasses import dataclass, field

from songkhoe.fhir.search import InvalidSearch
from songkhoe.fhir.searchparams import UnknownSearchParameter
from songkhoe.fhir.store import InvalidResource, ResourceGone, ResourceNotFound, VersionConflict


@dataclass(frozen=True, slots=True)
class Issue:
    code: str  # issue type: invalid, structure, required, value, not-found, conflict, ...
    diagnostics: str
    expression: tuple[str, ...] = ()
    severity: str = "error"

    def as_json(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


@dataclass(slots=True)
class FhirError(Exception):
    status: int
    issues: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)

    @classmethod
    def single(cls, status: int, code: str, diagnostics: str, *expression: str) -> "FhirError":
        return cls(status, [Issue(code, diagnostics, tuple(expression))])


def operation_outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [i.as_json() for i in issues]}


def from_exception(exc: Exception) -> FhirError:
    """The FhirError for an error of the store or the search layer; other errors pass through."""
    match exc:
        case FhirError():
            return exc
        case ResourceGone():
            return FhirError.single(410, "deleted", str(exc))
        case ResourceNotFound():
            return FhirError.single(404, "not-found", str(exc))
        case VersionConflict():
            return FhirError.single(409, "conflict", str(exc))
        case InvalidResource():
            return FhirError.single(400, "invalid", str(exc))
        case UnknownSearchParameter():
            return FhirError.single(400, "not-supported", str(exc))
        case InvalidSearch():
            return FhirError.single(400, "invalid", str(exc))
    raise exc
