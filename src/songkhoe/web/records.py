"""Opening a person's record from a page: the access policy and the audit trail of the FHIR API
(`songkhoe.auth.caller`), answered as a page (`RecordRefused` carries the status and message)."""

from songkhoe.auth.caller import Caller
from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore


class RecordRefused(Exception):
    def __init__(self, status: int, key: str) -> None:
        self.status, self.key = status, key


def open_record(
    store: ResourceStore, caller: Caller, patient_id: str, resource_type: str, access: str = "read"
) -> dict:
    """A person's Patient resource (audited), if the caller may `access` ("read" or "write")
    resources of `resource_type` about them; RecordRefused otherwise."""
    try:
        caller.access.require(resource_type, access)
        return caller.readable("read", store.read("Patient", patient_id))
    except FhirError as exc:
        key = "forbidden" if exc.status == 403 else "not_found"
        raise RecordRefused(exc.status, key) from None
    except LookupError:
        raise RecordRefused(404, "not_found") from None
